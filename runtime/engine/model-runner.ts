// Turns a scheduler decision into one ragged forward batch and runs it: every scheduled token of every
// sequence in a single model call (not a loop over sequences).
//
// Example, block size 4: A decodes position 6 (table [5, 17]); B prefills positions 0..2 (table [3]):
//   tokenIds [a6, b0, b1, b2], positions [6, 0, 1, 2], slots [17·4+2, 12, 13, 14],
//   queryStarts [0, 1, 4], contextLens [7, 3], blockTables [5, 17, 3, -1] (2 per sequence),
//   logitRows [0, 3]: A's row, and B's last row because its prompt completes in this step.
import type { ForwardBatch } from "../model/batch.ts";
import { imageEmbeddingsForSpan } from "../model/image-prefill.ts";
import type { ScheduledItem } from "./scheduler.ts";
import type { Sequence } from "./sequence.ts";

/** Where a sequence's rows landed in the batch and in the returned logits / hidden states. */
export interface SeqSpan {
  firstRow: number;
  numRows: number;
  /** Index of its first row among the logit rows (−1 when it has none). */
  firstLogit: number;
  /** Index of its first row among the hidden rows (−1 when none were asked for). */
  firstHidden: number;
}

export interface BatchExtras {
  /** Draft tokens to verify after each sequence's last token (EAGLE): all their rows get logits. */
  drafts?: Map<Sequence, number[]>;
  /** Sequences whose rows' final-norm hidden states are needed (to feed the draft later). */
  wantHidden?: Set<Sequence>;
}

export function buildBatch(
  items: ScheduledItem[],
  blockSize: number,
  extras: BatchExtras = {},
): { batch: ForwardBatch; sampled: Sequence[]; spans: Map<Sequence, SeqSpan> } {
  const draftsOf = (seq: Sequence) => extras.drafts?.get(seq) ?? [];
  const numTokens = items.reduce((n, it) => n + it.numNewTokens + draftsOf(it.seq).length, 0);
  const maxBlocks = Math.max(1, ...items.map((it) => it.seq.blockTable.length));
  const tokenIds = new Int32Array(numTokens), positions = new Int32Array(numTokens), slots = new Int32Array(numTokens);
  const queryStarts = new Int32Array(items.length + 1), contextLens = new Int32Array(items.length);
  const blockTables = new Int32Array(items.length * maxBlocks).fill(-1);
  const logitRows: number[] = [], hiddenRows: number[] = [], sampled: Sequence[] = [];
  const imageRows: number[] = [], imageValues: Float32Array[] = [];
  const spans = new Map<Sequence, SeqSpan>();
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
    const drafts = draftsOf(seq), numRows = numNewTokens + drafts.length;
    const span: SeqSpan = { firstRow: row, numRows, firstLogit: -1, firstHidden: -1 };
    for (let j = 0; j < numRows; j++, row++) {
      const p = seq.numComputed + j;
      tokenIds[row] = j < numNewTokens ? seq.tokens[p] : drafts[j - numNewTokens];
      positions[row] = p;
      slots[row] = seq.blockTable[Math.floor(p / blockSize)] * blockSize + (p % blockSize);
    }
    contextLens[s] = seq.numComputed + numRows;
    if (drafts.length > 0) {
      span.firstLogit = logitRows.length;
      for (let j = 0; j < numRows; j++) logitRows.push(span.firstRow + j);
    } else if (contextLens[s] === seq.numTokens) {
      span.firstLogit = logitRows.length;
      logitRows.push(row - 1);
      sampled.push(seq);
    }
    if (extras.wantHidden?.has(seq)) {
      span.firstHidden = hiddenRows.length;
      for (let j = 0; j < numRows; j++) hiddenRows.push(span.firstRow + j);
    }
    spans.set(seq, span);
  });
  queryStarts[items.length] = row;
  const batch: ForwardBatch = {
    tokenIds,
    positions,
    slots,
    queryStarts,
    contextLens,
    blockTables,
    maxBlocksPerSeq: maxBlocks,
    logitRows: Int32Array.from(logitRows),
    ...(hiddenRows.length > 0 ? { hiddenRows: Int32Array.from(hiddenRows) } : {}),
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
  return { batch, sampled, spans };
}
