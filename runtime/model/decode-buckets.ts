// Decode buckets: a decode-only batch (every sequence adds one token) is padded up to a fixed size so every step of
// that size has the same shapes, and the CUDA library can record the step once as a graph and replay it
// (kernels/cuda/step_graph.cu). vLLM's capture sizes: 1, 2, 4, 8, 16, 32, … up to the largest step's rows.
//
// Padding rows decode token 0 at position 0 with context length 1; their KV write goes to the ABI's scratch slot
// −1, which every gust_kv_write skips (vLLM's PAD_SLOT_ID), so no real sequence's cache changes; their block table
// row is [0, −1, …] (attention reads slot 0 of block 0: finite values, never written by a padding row); their
// logits rows follow the real rows and nobody samples them. The block table's width is rounded up to a power of
// two as well, so the attention's split count (sized from width · block size) stays fixed while contexts grow.
//
// Worked example: 5 sequences decoding, block size 16, widest table 3 blocks → bucket 8, width 4:
//   tokenIds     = [t0 … t4, 0, 0, 0]          positions = [p0 … p4, 0, 0, 0]
//   slots        = [s0 … s4, −1, −1, −1]       queryStarts = [0, 1, 2, … 8]
//   contextLens  = [c0 … c4, 1, 1, 1]          logitRows   = [0, 1, … 7] (rows 5–7 dropped)
//   blockTables  = row r < 5: the real row's 3 ids then −1; rows 5–7: [0, −1, −1, −1]
import type { ForwardBatch } from "./batch.ts";

/** Beyond this a decode step runs unpadded (vLLM's default largest capture size). */
export const MAX_DECODE_BUCKET = 512;

/** The bucket a decode batch of `numSeqs` pads to: the next power of two, or null above `maxRows` (the largest
 *  step the workspace holds) or MAX_DECODE_BUCKET. Example: 5 → 8; 1 → 1; 100 with maxRows 100 → null. */
export function decodeBucket(numSeqs: number, maxRows: number): number | null {
  const bucket = nextPowerOfTwo(numSeqs);
  return bucket <= Math.min(maxRows, MAX_DECODE_BUCKET) ? bucket : null;
}

export function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** True when every sequence adds exactly one token and every row's logits are asked for, in row order. */
export function isDecodeOnly(b: ForwardBatch): boolean {
  const s = b.contextLens.length;
  if (b.tokenIds.length !== s || b.logitRows.length !== s || b.hiddenRows?.length) return false;
  for (let i = 0; i < s; i++) if (b.queryStarts[i + 1] !== i + 1 || b.logitRows[i] !== i) return false;
  return true;
}

/** `b` (decode-only) padded to `bucket` rows as the header's example shows. */
export function padDecodeBatch(b: ForwardBatch, bucket: number): ForwardBatch {
  const n = b.tokenIds.length, width = nextPowerOfTwo(Math.max(1, b.maxBlocksPerSeq));
  if (!(bucket >= n)) throw new RangeError(`decode bucket ${bucket} is smaller than the batch's ${n} sequences`);
  const grown = (a: Int32Array, fill: number) => {
    const out = new Int32Array(bucket).fill(fill);
    out.set(a);
    return out;
  };
  const blockTables = new Int32Array(bucket * width).fill(-1);
  for (let s = 0; s < bucket; s++) {
    if (s >= n) blockTables[s * width] = 0;
    else blockTables.set(b.blockTables.subarray(s * b.maxBlocksPerSeq, (s + 1) * b.maxBlocksPerSeq), s * width);
  }
  const rows = Int32Array.from({ length: bucket }, (_, i) => i);
  return {
    tokenIds: grown(b.tokenIds, 0),
    positions: grown(b.positions, 0),
    slots: grown(b.slots, -1),
    queryStarts: Int32Array.from({ length: bucket + 1 }, (_, i) => i),
    contextLens: grown(b.contextLens, 1),
    blockTables,
    maxBlocksPerSeq: width,
    logitRows: rows,
  };
}
