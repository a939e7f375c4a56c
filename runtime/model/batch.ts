// One forward step's input: a ragged batch of sequences, flattened.
//
// Example: sequence A prefills 3 prompt tokens, sequence B decodes its 6th token; block size 4;
// A owns block 7, B owns blocks 2 and 5:
//   tokenIds     = [a0, a1, a2, b5]          positions = [0, 1, 2, 5]
//   slots        = [28, 29, 30, 21]          (7·4+0.., 5·4+1)
//   queryStarts  = [0, 3, 4]                 contextLens = [3, 6]
//   blockTables  = [7, -1, 2, 5]             maxBlocksPerSeq = 2
//   logitRows    = [2, 3]                    (last row of each sequence)

import type { StepSampleArgs } from "../../ffi/backend-api.ts";
import type { DeviceBuffer } from "../../ffi/buffer.ts";

export interface ForwardBatch {
  tokenIds: Int32Array;
  positions: Int32Array;
  slots: Int32Array;
  queryStarts: Int32Array;
  contextLens: Int32Array;
  blockTables: Int32Array;
  maxBlocksPerSeq: number;
  /** Rows whose logits (and final hidden states) are returned, in this order. */
  logitRows: Int32Array;
  /** Optional image features (model-spec §4.5): row rows[i] of the residual stream is overwritten with
   *  values[i·hidden .. (i+1)·hidden) right after the embedding gather, before layer 0. Only [IMG] rows
   *  belong here ([IMG_BREAK]/[IMG_END] keep their text embeddings); rows strictly increasing.
   *  Example: tokens [1, 10, 10, 12, 10, 10, 13] with a 2×2 image → rows [1, 2, 4, 5], 4·hidden values. */
  imageEmbeddings?: ImageEmbeddings;
  /** Optional input rows [T, hidden] used instead of the token-embedding gather (an EAGLE draft's
   *  eagle_linear(concat(embed, feature)) inputs). tokenIds are then only checked, not embedded. */
  inputEmbeddings?: Float32Array;
  /** Rows whose final-norm hidden states are returned in `ForwardResult.allHidden` (EAGLE features for
   *  prompt positions, which need no logits). */
  hiddenRows?: Int32Array;
}

export interface ImageEmbeddings {
  rows: Int32Array;
  /** [rows.length, hidden] f32, the projector's outputs in the order of `rows`. */
  values: Float32Array;
}

export interface ForwardResult {
  /** [logitRows.length, vocab]; empty when the forward was asked to keep them on the device. */
  logits: Float32Array;
  /** With `logitsOnDevice`: the logits [logitRows.length, vocab] f32 in the model's workspace, valid until its
   *  next forward. Ids at and above the model's vocabulary limit are not masked there (the sampler's
   *  vocab_limit leaves them out). */
  deviceLogits?: DeviceBuffer;
  /** Final-norm hidden states of the logit rows [logitRows.length, hidden] (EAGLE's input); empty with
   *  `skipRowHidden`. */
  hidden: Float32Array;
  /** Final-norm hidden states of `hiddenRows` [hiddenRows.length, hidden], when asked for. */
  allHidden?: Float32Array;
}

export interface ForwardOptions {
  /** Leave the logits in the backend's buffer (ForwardResult.deviceLogits) instead of downloading them: the
   *  engine samples there (runtime/sampling/native-sampler.ts), so only token ids come back. */
  logitsOnDevice?: boolean;
  /** Do not download the logit rows' final hidden states (only EAGLE reads them). */
  skipRowHidden?: boolean;
  /** Samples the logit rows natively right after the lm_head (in the same gust_step call on the one-call path). */
  sample?: StepSampleArgs;
  /** Receives the residual stream after the embedding (layer 0) and after each decoder layer (1..L),
   *  and the final-norm output of the logit rows as layer "final". For tests and diagnostics. */
  onHidden?: (layer: number | "final", values: Float32Array) => void;
}

/** Checks a batch's internal consistency so errors name the sequence, not a kernel argument. */
export function validateBatch(b: ForwardBatch, vocab: number, maxPositions: number): void {
  const t = b.tokenIds.length;
  const s = b.contextLens.length;
  if (b.positions.length !== t || b.slots.length !== t) {
    throw new RangeError(`Batch has ${t} tokens but ${b.positions.length} positions and ${b.slots.length} slots`);
  }
  if (b.queryStarts.length !== s + 1 || b.queryStarts[0] !== 0 || b.queryStarts[s] !== t) {
    throw new RangeError(`Batch queryStarts must have ${s + 1} entries from 0 to ${t}`);
  }
  if (b.blockTables.length !== s * b.maxBlocksPerSeq) {
    throw new RangeError(`Batch blockTables has ${b.blockTables.length} entries, expected ${s} × ${b.maxBlocksPerSeq}`);
  }
  for (let i = 0; i < t; i++) {
    const id = b.tokenIds[i];
    if (!(id >= 0 && id < vocab)) {
      throw new RangeError(`Token id ${id} (row ${i}) is outside the vocabulary [0, ${vocab})`);
    }
    if (!(b.positions[i] >= 0 && b.positions[i] < maxPositions)) {
      throw new RangeError(
        `Position ${b.positions[i]} (row ${i}) exceeds the model's context of ${maxPositions} tokens`,
      );
    }
  }
  for (const r of b.logitRows) {
    if (!(r >= 0 && r < t)) throw new RangeError(`logitRows names row ${r}, the batch has ${t} rows`);
  }
}

/** Checks the optional image rows against the batch and the decoder width. */
export function validateImageEmbeddings(e: ImageEmbeddings, numTokens: number, hidden: number): void {
  if (e.values.length !== e.rows.length * hidden) {
    throw new RangeError(
      `imageEmbeddings has ${e.rows.length} rows but ${e.values.length} values; expected ${e.rows.length} × ${hidden}`,
    );
  }
  for (let i = 0; i < e.rows.length; i++) {
    const r = e.rows[i];
    if (!(r >= 0 && r < numTokens)) {
      throw new RangeError(`imageEmbeddings row ${r} (entry ${i}) is outside the batch's ${numTokens} rows`);
    }
    if (i > 0 && r <= e.rows[i - 1]) {
      throw new RangeError(`imageEmbeddings rows must increase strictly; entry ${i} is ${r} after ${e.rows[i - 1]}`);
    }
  }
}
