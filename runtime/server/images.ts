// Images of generate requests: RGB bytes from the frame's attachment → vision tower features and content
// keys for the prefix cache. Requests that arrive between two engine steps are encoded together in one
// vision-tower call (images from several requests batch together); a batch that fails is retried request
// by request so one bad image never fails another request.
import type { ImageFeatures } from "../model/image-prefill.ts";
import { imageBlockKeys, imageDigest } from "../wire/image-keys.ts";
import { imageTokenIds, type VisionConfig } from "../vision/vision-config.ts";
import type { RgbImage } from "../vision/pixels.ts";
import type { GenerateMessage } from "../wire/messages.ts";
import type { ModelHost } from "./model-host.ts";

export class ImageRequestError extends Error {
  override name = "ImageRequestError";
}

export interface PreparedImages {
  features: ImageFeatures;
  blockExtraKey: (block: number) => string;
}

/** Checks a request's images against the attachment and the runtime's limits; returns the RGB views. */
export function readWireImages(host: ModelHost, msg: GenerateMessage, binary: Uint8Array): RgbImage[] {
  const images = msg.images ?? [];
  if (!host.vision) throw new ImageRequestError(`Model ${host.modelId} has no vision tower; send text only`);
  if (images.length > host.maxImagesPerRequest) {
    throw new ImageRequestError(
      `The request has ${images.length} images; this runtime accepts at most ${host.maxImagesPerRequest} per request`,
    );
  }
  return images.map((img, i) => {
    // sizes and offsets are positive and non-negative integers (runtime/wire/schemas.ts); here: do they fit the bytes
    const bytes = img.width * img.height * 3;
    if (img.byteOffset + bytes > binary.byteLength) {
      throw new ImageRequestError(
        `Image ${i} (${img.width}×${img.height}) needs ${bytes} bytes at offset ${img.byteOffset}; the attachment has ${binary.byteLength}`,
      );
    }
    // a copy: the frame buffer is not kept alive until the batch runs
    return { rgb: binary.slice(img.byteOffset, img.byteOffset + bytes), width: img.width, height: img.height };
  });
}

/** The prefix-cache keys of a request's blocks: digests of the bytes received (not the gateway's `hash`: the cache is
 * shared by every gateway and function), laid on the prompt's image runs. */
export function imageBlocksKeyed(
  promptIds: number[],
  images: RgbImage[],
  config: VisionConfig,
  blockSize: number,
): (block: number) => string {
  return imageBlockKeys(promptIds, images.map(imageDigest), imageTokenIds(config), blockSize);
}

/**
 * Encodes the images of several requests in one vision-tower call and splits the features back per
 * request. Example: requests with 1 and 2 images → encode([a, b1, b2]); grids give each image's rows at
 * `offset`, so request 2 gets the rows of b1 and b2. Returns, per request, its features or the error.
 */
export function encodeBatch(
  host: ModelHost,
  requests: { promptIds: number[]; images: RgbImage[] }[],
): (PreparedImages | ImageRequestError)[] {
  const vision = host.vision!;
  const prepare = (promptIds: number[], images: RgbImage[], values: Float32Array, hidden: number): PreparedImages => ({
    features: { values, hidden, imageTokenId: vision.config.imageTokenId },
    blockExtraKey: imageBlocksKeyed(promptIds, images, vision.config, host.cache.blockSize),
  });
  try {
    // images are encoded between engine steps: the decoder's step buffers are freed for the tower's (gust plan
    // counts the larger of the two, runtime/plan/memory-plan.ts) and come back with the next step
    host.loaded.model.releaseWorkspace();
    const out = vision.model.encode(requests.flatMap((r) => r.images));
    let image = 0;
    return requests.map((r) => {
      const first = out.images[image], last = out.images[image + r.images.length - 1];
      image += r.images.length;
      const start = first.offset * out.hidden, end = (last.offset + last.rows * last.cols) * out.hidden;
      try {
        return prepare(r.promptIds, r.images, out.features.slice(start, end), out.hidden);
      } catch (err) {
        return new ImageRequestError((err as Error).message);
      }
    });
  } catch (err) {
    if (requests.length === 1) return [new ImageRequestError((err as Error).message)];
    return requests.flatMap((r) => encodeBatch(host, [r])); // isolate the request that broke the batch
  }
}
