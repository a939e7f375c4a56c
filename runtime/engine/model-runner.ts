// Turns a scheduler decision into one ragged forward batch and runs it: every scheduled token of every
// sequence in a single model call (not a loop over sequences).
//
// Example, block size 4: A decodes position 6 (table [5, 17]); B prefills positions 0..2 (table [3]):
//   tokenIds [a6, b0, b1, b2], positions [6, 0, 1, 2], slots [17·4+2, 12, 13, 14],
//   queryStarts [0, 1, 4], contextLens [7, 3], blockTables [5, 17, 3, -1] (2 per sequence),
//   logitRows [0, 3]: A's row, and B's last row because its prompt completes in this step.
import type { ForwardBatch, ForwardResult } from "../model/batch.ts";
import { imageEmbeddingsForSpan } from "../model/image-prefill.ts";
import type { KvCache } from "../model/kv-cache.ts";
import type { TextModel } from "../model/text-model.ts";
import type { ScheduledItem } from "./scheduler.ts";
import type { Sequence } from "./sequence.ts";

export interface StepLogits {
  /** Sequences whose next token can be sampled now, in the order of the logit rows. */
  sequences: Sequence[];
  result: ForwardResult;
}

export function buildBatch(items: ScheduledItem[], blockSize: number): { batch: ForwardBatch; sampled: Sequence[] } {
  const numTokens = items.reduce((n, it) => n + it.numNewTokens, 0);
  const maxBlocks = Math.max(1, ...items.map((it) => it.seq.blockTable.length));
  const tokenIds = new Int32Array(numTokens), positions = new Int32Array(numTokens), slots = new Int32Array(numTokens);
  const queryStarts = new Int32Array(items.length + 1), contextLens = new Int32Array(items.length);
  const blockTables = new Int32Array(items.length * maxBlocks).fill(-1);
  const logitRows: number[] = [], sampled: Sequence[] = [];
  const imageRows: number[] = [], imageValues: Float32Array[] = [];
  let row = 0;
  items.forEach(({ seq, numNewTokens }, s) => {
    queryStarts[s] = row;
    if (seq.images) {
      // the [IMG] positions of this span take their feature rows (counted from the prompt's start)
      const span = imageEmbeddingsForSpan(seq.tokens, seq.numComputed, seq.numComputed + numNewTokens, seq.images);
      if (span) {
        for (const r of span.rows) imageRows.push(row + r);
        imageValues.push(span.values);
      }
    }
    blockTables.set(seq.blockTable, s * maxBlocks);
    for (let j = 0; j < numNewTokens; j++, row++) {
      const p = seq.numComputed + j;
      tokenIds[row] = seq.tokens[p];
      positions[row] = p;
      slots[row] = seq.blockTable[Math.floor(p / blockSize)] * blockSize + (p % blockSize);
    }
    contextLens[s] = seq.numComputed + numNewTokens;
    if (contextLens[s] === seq.numTokens) {
      logitRows.push(row - 1);
      sampled.push(seq);
    }
  });
  queryStarts[items.length] = row;
  const batch: ForwardBatch = {
    tokenIds, positions, slots, queryStarts, contextLens, blockTables, maxBlocksPerSeq: maxBlocks,
    logitRows: Int32Array.from(logitRows),
  };
  if (imageRows.length > 0) {
    const values = new Float32Array(imageValues.reduce((n, v) => n + v.length, 0));
    let offset = 0;
    for (const v of imageValues) {
      values.set(v, offset);
      offset += v.length;
    }
    batch.imageEmbeddings = { rows: Int32Array.from(imageRows), values };
  }
  return { batch, sampled };
}

export function runStep(model: TextModel, cache: KvCache, items: ScheduledItem[]): StepLogits {
  const { batch, sampled } = buildBatch(items, cache.blockSize);
  const result = model.forward(batch, cache);
  return { sequences: sampled, result };
}
