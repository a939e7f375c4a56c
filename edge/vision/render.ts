/** The decoder's work on one image, in two jobs:
 *   probe  — the decoder's reading of the header (orientation, and that it agrees on the format) and the SHA-256 of
 *            the encoded bytes (the cache key): no pixels yet, so the request's token budget is checked first;
 *   render — decode (sharp), composite onto white, bicubic resize to the grid (OpenCV-exact), round to bytes, hash.
 * Rendering is CPU work of tens to hundreds of milliseconds per photo and hashing a 10 MB file ~20 ms
 * (bench/lab/vision-preprocess.ts), so the gateway runs both on worker threads (render-pool.ts, render-worker.ts);
 * run here on the calling thread this is also the pool's spec. It loads sharp (~2 MB of live heap), so the gateway's
 * own thread imports it only where it renders there (renderWorkers: 0). */
import { createHash } from "node:crypto";
import { imageDigest } from "../../runtime/wire/image-keys.ts";
import { resizeBicubic, toBytes } from "./bicubic.ts";
import { toRgbOnWhite } from "./composite.ts";
import { decode, orientedSize } from "./decode.ts";
import { VisionError } from "./errors.ts";
import type { Header } from "./format.ts";

/** What a render needs, all structured-clonable (it crosses to a worker as is). */
export interface RenderJob {
  bytes: Uint8Array;
  header: Header;
  /** Size after orientation, from the probe: the decoded pixels must match it. */
  width: number;
  height: number;
  /** The grid's pixel size: the resize target. */
  outWidth: number;
  outHeight: number;
  maxPixels: number;
  exifOrientation: boolean;
}

/** What a probe needs: the encoded bytes and the header format.ts read from them. */
export interface ProbeJob {
  bytes: Uint8Array;
  header: Header;
  maxPixels: number;
  exifOrientation: boolean;
}

export interface ProbeResult {
  /** Size after EXIF orientation (when applied): what the grid is computed from. */
  width: number;
  height: number;
  /** SHA-256 (hex) of the encoded bytes. */
  contentHash: string;
}

export interface Rendered {
  /** The runtime's digest of these pixels (runtime/wire/image-keys.ts), so the gateway's routing keys image blocks as
   * the runtime's prefix cache does. */
  hash: string;
  /** outHeight × outWidth × 3 bytes, in an ArrayBuffer of its own (so it can be transferred). */
  rgb: Uint8Array;
}

/** SHA-256 (hex) of the parts in order, without concatenating them. */
export function sha256Hex(...parts: Uint8Array[]): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest("hex");
}

export async function probeEncoded(job: ProbeJob): Promise<ProbeResult> {
  const size = await orientedSize(job.bytes, job.header, job.maxPixels, job.exifOrientation);
  return { ...size, contentHash: sha256Hex(job.bytes) };
}

export async function renderPixels(job: RenderJob): Promise<Rendered> {
  const d = await decode(job.bytes, job.header, job.maxPixels, job.exifOrientation);
  if (d.width !== job.width || d.height !== job.height) {
    // The token grid was computed from the header; a file whose pixels disagree with it is refused.
    throw new VisionError(
      400,
      "image_decode",
      `image header says ${job.width} x ${job.height} but the pixels decode to ${d.width} x ${d.height}; the file is corrupt`,
    );
  }
  const src = toRgbOnWhite(d.data, d.width * d.height, d.channels);
  // Same size: OpenCV copies (the cubic weights at offset 0 are [0, 1, 0, 0]), so skip the arithmetic. RGB input
  // comes back as the decoder's own buffer, which Bun will not transfer between threads: copied then.
  const same = d.width === job.outWidth && d.height === job.outHeight;
  const rgb = same ? (src === d.data ? src.slice() : src) : toBytes(
    resizeBicubic({ width: d.width, height: d.height, channels: 3, data: src }, job.outWidth, job.outHeight).data,
  );
  return { hash: imageDigest({ rgb, width: job.outWidth, height: job.outHeight }), rgb };
}
