// Prefix-cache keys for image content (issue 7: "prefix caching keys image positions by image content"), shared by
// the runtime (its block hashes) and the gateway (its routing map), so both name a prompt's blocks alike.
// Two prompts with the same ids but different pictures behind their [IMG] placeholders must not share KV
// blocks, so every block that holds tokens of an image run gets that image's digest as its extra key
// (EngineRequest.blockExtraKey). Block hashes chain to their prefix, so a block after the image differs
// too, through its parent.
// Example, block size 4, ids [1, 10, 10, 12, 10, 10, 13, 5, 6] (one 2×2 image, tokens 1..6, digest D):
//   block 0 (tokens 0..3) → "D", block 1 (tokens 4..7) → "D", block 2 (token 8) → "".
import { createHash } from "node:crypto";
import { findImageRuns, type ImageTokenIds } from "./image-runs.ts";

/** An image as the runtime gets it: RGB bytes, height × width × 3, at the model's grid size. */
export interface ImagePixels {
  rgb: Uint8Array;
  width: number;
  height: number;
}

/** A content digest of an image: its size and every RGB byte (SHA-256, hex). The gateway's renderer sends it as
 * the wire image's `hash`; the runtime computes it again from the bytes it got. */
export function imageDigest(img: ImagePixels): string {
  return createHash("sha256").update(`${img.width}x${img.height}:`).update(img.rgb).digest("hex");
}

/** blockExtraKey for a prompt whose image runs carry images with these digests (in prompt order). */
export function imageBlockKeys(
  promptIds: ArrayLike<number>,
  digests: readonly string[],
  tokenIds: ImageTokenIds,
  blockSize: number,
): (blockIndex: number) => string {
  const runs = findImageRuns(promptIds, tokenIds);
  if (runs.length !== digests.length) {
    throw new RangeError(`The prompt holds ${runs.length} image runs but ${digests.length} images were given`);
  }
  return (block) => {
    const lo = block * blockSize, hi = lo + blockSize;
    return runs.flatMap((r, k) => (r.start < hi && r.end > lo ? [digests[k]] : [])).join(",");
  };
}
