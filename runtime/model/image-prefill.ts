// Hands image features to prefill chunks: the [IMG] positions of a prompt consume the vision tower's
// output rows in order (raster order within an image, images in prompt order), whatever the chunking.
//
// Example: prompt [1, 10, 10, 12, 10, 10, 13, 5] (one 2×2 image), features f0..f3, chunks of 3 tokens:
//   chunk [1, 10, 10]  → rows [1, 2] ← f0, f1
//   chunk [12, 10, 10] → rows [1, 2] ← f2, f3   (the chunk boundary fell inside the image: fine)
//   chunk [13, 5]      → no image rows
import type { ImageEmbeddings } from "./batch.ts";

export interface ImageFeatures {
  /** [numRows, hidden] f32: one row per [IMG] token of the prompt, in prompt order. */
  values: Float32Array;
  hidden: number;
  /** Id of [IMG]; only these positions take features ([IMG_BREAK]/[IMG_END] stay text). */
  imageTokenId: number;
}

export class ImageFeatureCursor {
  #next = 0;
  readonly numRows: number;

  constructor(readonly features: ImageFeatures) {
    if (!(features.hidden > 0) || features.values.length % features.hidden !== 0) {
      throw new RangeError(
        `Image features hold ${features.values.length} values, not a whole number of ${features.hidden}-wide rows`,
      );
    }
    this.numRows = features.values.length / features.hidden;
  }

  /** Checks a whole prompt up front: its [IMG] count must equal the number of feature rows. */
  static check(promptIds: ArrayLike<number>, features: ImageFeatures): void {
    let count = 0;
    for (let i = 0; i < promptIds.length; i++) if (promptIds[i] === features.imageTokenId) count++;
    const rows = features.values.length / features.hidden;
    if (count !== rows) {
      throw new RangeError(
        `The prompt has ${count} [IMG] tokens (id ${features.imageTokenId}) but the images give ${rows} feature rows; ` +
          "each image needs exactly its grid of [IMG] tokens (rows × cols, model-spec §4.4)",
      );
    }
  }

  get consumed(): number {
    return this.#next;
  }

  /** The image rows of the next chunk (relative to the chunk), or undefined when it has no [IMG]. */
  take(chunk: ArrayLike<number>): ImageEmbeddings | undefined {
    const rows: number[] = [];
    for (let i = 0; i < chunk.length; i++) if (chunk[i] === this.features.imageTokenId) rows.push(i);
    if (rows.length === 0) return undefined;
    if (this.#next + rows.length > this.numRows) {
      throw new RangeError(
        `Chunk needs image rows ${this.#next}..${this.#next + rows.length - 1}, the images gave only ${this.numRows}`,
      );
    }
    const h = this.features.hidden;
    const values = this.features.values.subarray(this.#next * h, (this.#next + rows.length) * h);
    this.#next += rows.length;
    return { rows: Int32Array.from(rows), values };
  }
}

/**
 * Stateless variant for schedulers that may skip spans (prefix-cache hits) or redo them (preemption):
 * the image rows of tokens[start, end), found by counting the [IMG] tokens before `start`.
 * Rows are relative to `start`. Example: tokens [1, 10, 10, 12, 10, 10, 13], span [2, 5) → rows [0, 2]
 * (tokens 2 and 4) with feature rows 1 and 2.
 */
export function imageEmbeddingsForSpan(
  tokens: ArrayLike<number>,
  start: number,
  end: number,
  f: ImageFeatures,
): ImageEmbeddings | undefined {
  let before = 0;
  for (let i = 0; i < start; i++) if (tokens[i] === f.imageTokenId) before++;
  const rows: number[] = [];
  for (let i = start; i < end; i++) if (tokens[i] === f.imageTokenId) rows.push(i - start);
  if (rows.length === 0) return undefined;
  const available = f.values.length / f.hidden;
  if (before + rows.length > available) {
    throw new RangeError(
      `Tokens ${start}..${end - 1} need image rows ${before}..${
        before + rows.length - 1
      }, the images gave only ${available}`,
    );
  }
  return {
    rows: Int32Array.from(rows),
    values: f.values.subarray(before * f.hidden, (before + rows.length) * f.hidden),
  };
}
