/** One image from encoded bytes to what the runtime needs, in two steps so that a request's token budget is
 * checked before anything is decoded:
 *   probe  — format and size from the header and the pixel cap (here), then orientation and the content hash;
 *            no pixel decoding;
 *   render — decode, composite onto white, resize by the grid (bicubic, OpenCV-exact), hash.
 * The decoder's part of both (render.ts) runs on the render pool's worker threads unless `renderWorkers` is 0
 * (render-pool.ts); then render.ts is loaded here on first use. `prepareImage` does both for a single image. */
import { withPixels } from "./pixel-budget.ts";
import type { ImageCache } from "./cache.ts";
import { readHeader } from "./format.ts";
import type { Header } from "./format.ts";
import type { ResolvedOptions } from "./options.ts";
import type { ProbeJob, ProbeResult, Rendered, RenderJob } from "./render.ts";
import { sharedRenderPool } from "./render-pool.ts";
import { gridFor } from "./size-rule.ts";
import type { Grid } from "./size-rule.ts";

export interface PreparedImage {
  /** The runtime's digest of the pixels (runtime/wire/image-keys.ts): equal hashes, equal pixels. */
  hash: string;
  /** After the resize: multiples of patch × merge (28). */
  width: number;
  height: number;
  /** Token grid: `cols` [IMG] per row, `rows` rows. */
  cols: number;
  rows: number;
  /** height × width × 3 bytes, row-major, not normalised (the runtime divides by 255 and applies mean/std). */
  rgb: Uint8Array;
  /** cols · rows + rows: the image's tokens in the prompt. */
  tokens: number;
}

/** The decoder's probe (oriented size, content hash: the cache key's content part) with what it was made from. */
export interface Probed extends ProbeResult {
  bytes: Uint8Array;
  header: Header;
}

export type PipelineOptions =
  & Pick<ResolvedOptions, "maxPixels" | "exifOrientation" | "imagePatchSize" | "spatialMergeSize" | "maxImageSize">
  & Partial<Pick<ResolvedOptions, "renderWorkers">>;

interface DecoderWork {
  probe(job: ProbeJob): Promise<ProbeResult>;
  render(job: RenderJob): Promise<Rendered>;
}

/** The pool's workers, or this thread (render.ts imported when first needed). */
async function decoderWork(opts: PipelineOptions): Promise<DecoderWork> {
  const workers = opts.renderWorkers ?? 0; // absent from a hand-made options object: on the calling thread
  if (workers > 0) return sharedRenderPool(workers);
  const { probeEncoded, renderPixels } = await import("./render.ts");
  return { probe: probeEncoded, render: renderPixels };
}

/** Header checks and the oriented size; throws VisionError (400 format/corrupt, 413 pixels). */
export async function probeImage(bytes: Uint8Array, opts: PipelineOptions): Promise<Probed> {
  const header = readHeader(bytes, opts.maxPixels);
  const probed = await (await decoderWork(opts)).probe({
    bytes,
    header,
    maxPixels: opts.maxPixels,
    exifOrientation: opts.exifOrientation,
  });
  return { bytes, header, ...probed };
}

/** Decode and resize to `grid` (from gridFor on the probed size, or a smaller max edge), through the cache. */
export function renderImage(
  p: Probed,
  grid: Grid,
  opts: PipelineOptions,
  cache?: ImageCache | null,
): Promise<PreparedImage> {
  const make = () => render(p, grid, opts);
  if (!cache) return make();
  return cache.getOrCreate(
    `${p.contentHash}:${opts.exifOrientation ? "exif" : "raw"}:${grid.width}x${grid.height}`,
    make,
  );
}

async function render(p: Probed, grid: Grid, opts: PipelineOptions): Promise<PreparedImage> {
  const job = {
    bytes: p.bytes,
    header: p.header,
    width: p.width,
    height: p.height,
    outWidth: grid.width,
    outHeight: grid.height,
    maxPixels: opts.maxPixels,
    exifOrientation: opts.exifOrientation,
  };
  // admitted by source pixels across the gateway (pixel-budget.ts): memory stays bounded however many requests
  const { hash, rgb } = await withPixels(p.width * p.height, async () => (await decoderWork(opts)).render(job));
  return { hash, width: grid.width, height: grid.height, cols: grid.cols, rows: grid.rows, rgb, tokens: grid.tokens };
}

/** One image, no request budget: probe, grid by the model's rule, render. */
export async function prepareImage(
  bytes: Uint8Array,
  opts: PipelineOptions,
  cache?: ImageCache | null,
): Promise<PreparedImage> {
  const p = await probeImage(bytes, opts);
  return renderImage(p, gridFor(p.width, p.height, opts), opts, cache);
}
