// How much device memory one vision-tower call takes, and how a call is cut so that this stays bounded whatever
// the number of images: one formula that VisionModel allocates by and `gust plan` counts with.
//
// Images are encoded in groups of at most one full-size image's patches (maxPatchesPerSide²); inside a group
// the row-wise stages whose width dwarfs the hidden size (the MLP's gate/up, the projector's linear_1/linear_2)
// run over at most `chunkRows` rows at a time. Only the residual stream and the attention inputs/outputs are
// held for the whole group (attention needs every patch of an image at once).
//
// Example (Medium 3.5: patch 14, image 1540, d 1664, F 8192, E 12288, merge 2, chunk 1024): a group holds at
// most 110² = 12,100 patches → 3,025 merged rows; its buffers are
//   pixels 12,100 × 588 f32 | positions, merge order 12,100 i32 each | segment starts 3,026 i32
//   x, normed, q, k, v, attn 6 × 12,100 × 1664 f32 | gate, up 2 × 1024 × 8192 f32
//   merged 3,025 × 1664 f32 | hidden, out 2 × 1024 × 12288 f32
// = 28,459,200 + 96,800 + 12,104 + 483,225,600 + 67,108,864 + 20,134,400 + 100,663,296 = 699,700,264 B.
import type { VisionConfig } from "./vision-config.ts";

/** Rows of the wide row-wise stages computed at once (big enough to keep a GPU's matrix units busy). */
export const VISION_CHUNK_ROWS = 1024;

const F32 = 4, I32 = 4;

/** Most patches one call of the tower holds: one image of the largest size. */
export function maxPatchesPerGroup(v: VisionConfig): number {
  return v.maxPatchesPerSide * v.maxPatchesPerSide;
}

/**
 * Cuts images (given by their patch counts, in order) into consecutive groups of at most `maxPatches` patches.
 * Returns the index of each group's first image, then images.length. Example: [12100, 400, 9000, 3000] with a
 * cap of 12100 → [0, 1, 3, 4] (the second group holds 400 + 9000; 3000 more would pass the cap).
 */
export function groupStarts(patchCounts: number[], maxPatches: number): number[] {
  const starts = [0];
  let inGroup = 0;
  patchCounts.forEach((n, i) => {
    if (inGroup > 0 && inGroup + n > maxPatches) {
      starts.push(i);
      inGroup = 0;
    }
    inGroup += n;
  });
  return patchCounts.length > 0 ? [...starts, patchCounts.length] : starts;
}

/**
 * Device bytes one group of `numPatches` patches holds at once (VisionModel's buffers, all live together).
 * The segment starts are sized for the most images such a group can hold (each image has ≥ merge² patches).
 */
export function visionGroupBytes(v: VisionConfig, numPatches: number, chunkRows = VISION_CHUNK_ROWS): number {
  const s2 = v.spatialMergeSize * v.spatialMergeSize, merged = numPatches / s2;
  const patchLen = v.numChannels * v.patchSize * v.patchSize, d = v.hiddenSize;
  const perPatch = F32 * (patchLen + 6 * d) + 2 * I32; // pixels | x, normed, q, k, v, attn | positions, merge order
  const starts = I32 * (merged + 1);
  const mlp = F32 * 2 * Math.min(chunkRows, numPatches) * v.intermediateSize; // gate, up
  const projector = F32 * (merged * d + 2 * Math.min(chunkRows, merged) * v.textHiddenSize); // merged | hidden, out
  return numPatches * perPatch + starts + mlp + projector;
}

/** The most a vision-tower call ever holds: a full group (one image of the largest size, or several smaller). */
export function visionWorkspaceBytes(v: VisionConfig, chunkRows = VISION_CHUNK_ROWS): number {
  return visionGroupBytes(v, maxPatchesPerGroup(v), chunkRows);
}
