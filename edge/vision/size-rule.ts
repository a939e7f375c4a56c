/** mistral-common's size rule (model-spec §4.4) on top of the text layer's `imageGrid`, the token count of a
 * grid, and the search for a smaller max edge when a request's images do not fit its token budget.
 *
 * Worked example, 1920 × 1080 with max edge 1540 and 28-pixel cells: ratio = 1920 / 1540 = 1.2468;
 * w = round(1920 / 1.2468) = 1540, h = round(1080 / 1.2468) = round(866.25) = 866; cols = (1540 − 1) // 28 + 1
 * = 55, rows = (866 − 1) // 28 + 1 = 31; resize to 1540 × 868; tokens = 55 · 31 + 31 = 1736. */
import { imageGrid } from "../../runtime/text/chat/image-size.ts";
import type { ImageConfig } from "../../runtime/text/tokenizer.ts";
import { num, VisionError } from "./errors.ts";

export interface Grid {
  cols: number;
  rows: number;
  /** Resize target: cols · cell × rows · cell. */
  width: number;
  height: number;
  /** cols · rows [IMG] plus one [IMG_BREAK]/[IMG_END] per row. */
  tokens: number;
}

export const gridTokens = (cols: number, rows: number): number => cols * rows + rows;

/** The grid of an image of this (oriented) size, or a 400 when a side rounds away to nothing
 * (e.g. 40 000 × 10 at max edge 1540: h = round(10 / 25.97) = 0). */
export function gridFor(width: number, height: number, cfg: ImageConfig): Grid {
  const { cols, rows } = imageGrid({ width, height }, cfg);
  if (cols <= 0 || rows <= 0) {
    throw new VisionError(
      400,
      "image_size",
      `image ${width} x ${height} is too thin: scaled to fit ${cfg.maxImageSize} pixels its shorter side rounds to 0; the aspect ratio must be below about ${
        num(2 * cfg.maxImageSize)
      }:1`,
    );
  }
  const cell = cfg.imagePatchSize * cfg.spatialMergeSize;
  return { cols, rows, width: cols * cell, height: rows * cell, tokens: gridTokens(cols, rows) };
}

/** Tokens of all images at one max edge, or null when some image's grid is empty at that edge. */
function total(sizes: { width: number; height: number }[], cfg: ImageConfig): number | null {
  let sum = 0;
  for (const s of sizes) {
    const { cols, rows } = imageGrid(s, cfg);
    if (cols <= 0 || rows <= 0) return null;
    sum += gridTokens(cols, rows);
  }
  return sum;
}

/** Largest k in [lo, hi] with pred(k), for a pred that is true up to some point and false after; lo must hold. */
function lastTrue(lo: number, hi: number, pred: (k: number) => boolean): number {
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (pred(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The largest max edge (a multiple of the cell, at most cfg.maxImageSize) at which all images together need at
 * most `budget` tokens; null if none does. One max edge for the whole request: the largest images shrink first
 * and small ones are left alone. Both "every grid is non-empty" and "tokens" only grow with the edge, so the
 * edges that work form one range: find its low end (the smallest edge where no grid is empty), then the
 * largest edge within budget by binary search over k = edge / cell.
 * Worked example: two 4032 × 3024 photos need 2 · 2352 = 4704 tokens at 1540; with budget 3000 the search settles
 * on k = 44 (edge 1232: 1232 × 924, a 44 × 33 grid, 1485 tokens each, 2970 in all); k = 45 gives 45 × 34 → 3128. */
export function fitMaxEdge(
  sizes: { width: number; height: number }[],
  cfg: ImageConfig,
  budget: number,
): number | null {
  const cell = cfg.imagePatchSize * cfg.spatialMergeSize;
  const at = (k: number) => total(sizes, { ...cfg, maxImageSize: k * cell });
  const kMax = Math.floor(cfg.maxImageSize / cell);
  if (at(kMax) === null) return null; // some image is too thin even at full size
  // smallest valid k: the last k (counting down from kMax) whose grids are all non-empty
  const kMin = kMax + 1 - lastTrue(1, kMax, (j) => at(kMax + 1 - j) !== null);
  const first = at(kMin);
  if (first === null || first > budget) return null;
  return lastTrue(kMin, kMax, (k) => (at(k) ?? Infinity) <= budget) * cell;
}
