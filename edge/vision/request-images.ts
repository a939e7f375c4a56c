/** All images of one chat request, with the request-level caps:
 *   1. count the image parts (maxImages);
 *   2. per distinct source string: get the bytes (inline, or fetched under the URL policy; maxImageBytes) and
 *      probe the header (format, maxPixels, orientation) — nothing decoded yet;
 *   3. token grids for every occurrence and their sum against maxImageTokens, shrinking the max edge for the
 *      whole request when downscaleToFit is on;
 *   4. decode and resize each distinct image once (through the content cache).
 * Errors carry the request path of the part they are about. Framework-free: the Hono middleware wraps this. */
import type { ImageCache } from "./cache.ts";
import { asVisionError, num, VisionError } from "./errors.ts";
import type { ResolvedOptions } from "./options.ts";
import { findImageParts } from "./parts.ts";
import { probeImage, renderImage } from "./prepare.ts";
import type { PreparedImage, Probed } from "./prepare.ts";
import { fitMaxEdge, gridFor } from "./size-rule.ts";
import { readSource } from "./source.ts";

export interface VisionContext {
  /** Key: the url / data URL / base64 string exactly as it appears in the request. */
  images: Map<string, PreparedImage>;
  /** Image tokens of the whole prompt: the sum over image parts (a repeated image counts each time). */
  imageTokens: number;
  /** The max edge used; smaller than the option's when downscaleToFit had to shrink the request. */
  maxImageSize: number;
}

export const emptyVision = (maxImageSize: number): VisionContext => ({
  images: new Map(),
  imageTokens: 0,
  maxImageSize,
});

async function bytesOf(source: string, o: ResolvedOptions): Promise<Uint8Array> {
  const s = readSource(source, o.maxImageBytes);
  if (s.kind === "bytes") return s.bytes;
  // loaded on the first image URL (most gateways never fetch one)
  const { checkContentType, fetchImage } = await import("./fetch-image.ts");
  const got = await fetchImage(s.url, o);
  checkContentType(got.contentType);
  return got.bytes;
}

export async function prepareRequestImages(
  body: unknown,
  o: ResolvedOptions,
  cache: ImageCache | null,
): Promise<VisionContext> {
  const parts = findImageParts(body);
  if (parts.length === 0) return emptyVision(o.maxImageSize);
  if (parts.length > o.maxImages) {
    throw new VisionError(
      400,
      "too_many_images",
      `request has ${parts.length} images; the limit is ${o.maxImages} images per request`,
      parts[o.maxImages].path,
    );
  }
  const probes = new Map<string, Probed>();
  for (const part of parts) {
    if (probes.has(part.source)) continue;
    try {
      probes.set(part.source, await probeImage(await bytesOf(part.source, o), o));
    } catch (e) {
      throw asVisionError(e).at(part.path);
    }
  }
  let cfg = { imagePatchSize: o.imagePatchSize, spatialMergeSize: o.spatialMergeSize, maxImageSize: o.maxImageSize };
  const sizes = parts.map((p) => probes.get(p.source)!);
  const tokensAt = () =>
    sizes.reduce((n, s, i) => {
      try {
        return n + gridFor(s.width, s.height, cfg).tokens;
      } catch (e) {
        throw asVisionError(e).at(parts[i].path);
      }
    }, 0);
  let total = tokensAt();
  if (total > o.maxImageTokens) {
    const edge = o.downscaleToFit ? fitMaxEdge(sizes, cfg, o.maxImageTokens) : null;
    if (edge === null) {
      const each = parts.map((p) => num(gridFor(probes.get(p.source)!.width, probes.get(p.source)!.height, cfg).tokens))
        .join(" + ");
      const how = o.downscaleToFit
        ? " (even shrunk to the smallest grid they do not fit)"
        : "; send smaller or fewer images";
      throw new VisionError(
        413,
        "image_too_many_tokens",
        `images need ${num(total)} tokens (${each}); the limit is ${
          num(o.maxImageTokens)
        } image tokens per request${how}`,
      );
    }
    cfg = { ...cfg, maxImageSize: edge };
    total = tokensAt();
  }
  const images = new Map<string, PreparedImage>();
  for (const part of parts) {
    if (images.has(part.source)) continue;
    const p = probes.get(part.source)!;
    try {
      images.set(part.source, await renderImage(p, gridFor(p.width, p.height, cfg), o, cache));
    } catch (e) {
      throw asVisionError(e).at(part.path);
    }
  }
  return { images, imageTokens: total, maxImageSize: cfg.maxImageSize };
}
