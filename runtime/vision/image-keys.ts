// Prefix-cache keys for image content (issue 7: "prefix caching keys image positions by image content").
// Two prompts with the same ids but different pictures behind their [IMG] placeholders must not share KV
// blocks, so every block that holds tokens of an image run gets that image's digest as its extra key
// (EngineRequest.blockExtraKey). Block hashes chain to their prefix, so a block after the image differs
// too, through its parent.
// Example, block size 4, ids [1, 10, 10, 12, 10, 10, 13, 5, 6] (one 2×2 image, tokens 1..6, digest D):
//   block 0 (tokens 0..3) → "D", block 1 (tokens 4..7) → "D", block 2 (token 8) → "".
import { createHash } from "node:crypto";
import { findImageRuns } from "./image-runs.ts";
import type { RgbImage } from "./pixels.ts";
import type { VisionConfig } from "./vision-config.ts";

/** A content digest of an image: its size and every RGB byte (SHA-256, hex). */
export function imageDigest(img: RgbImage): string {
  return createHash("sha256").update(`${img.width}x${img.height}:`).update(img.rgb).digest("hex");
}

/** blockExtraKey for a prompt whose image runs carry `images` (in prompt order). */
export function imageBlockKeys(
  promptIds: ArrayLike<number>,
  images: RgbImage[],
  v: VisionConfig,
  blockSize: number,
): (blockIndex: number) => string {
  const runs = findImageRuns(promptIds, { img: v.imageTokenId, imgBreak: v.imageBreakId, imgEnd: v.imageEndId });
  if (runs.length !== images.length) {
    throw new RangeError(`The prompt holds ${runs.length} image runs but ${images.length} images were given`);
  }
  const digests = images.map(imageDigest);
  return (block) => {
    const lo = block * blockSize, hi = lo + blockSize;
    return runs.flatMap((r, k) => (r.start < hi && r.end > lo ? [digests[k]] : [])).join(",");
  };
}
