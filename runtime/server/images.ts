// Images of a generate request: RGB bytes from the frame's attachment → vision tower features (run at
// admission) and content keys for the prefix cache. The gateway already resized them to the grid.
import type { ImageFeatures } from "../model/image-prefill.ts";
import { imageBlockKeys } from "../vision/image-keys.ts";
import type { RgbImage } from "../vision/pixels.ts";
import type { GenerateMessage } from "../wire/messages.ts";
import type { ModelHost } from "./model-host.ts";

export class ImageRequestError extends Error {
  override name = "ImageRequestError";
}

export function prepareImages(host: ModelHost, msg: GenerateMessage, binary: Uint8Array): { features: ImageFeatures; blockExtraKey: (block: number) => string } {
  const images = msg.images ?? [];
  if (!host.vision) throw new ImageRequestError(`Model ${host.modelId} has no vision tower; send text only`);
  if (images.length > host.maxImagesPerRequest)
    throw new ImageRequestError(`The request has ${images.length} images; this runtime accepts at most ${host.maxImagesPerRequest} per request`);
  const rgb: RgbImage[] = images.map((img, i) => {
    const bytes = img.width * img.height * 3;
    if (!(Number.isInteger(img.width) && Number.isInteger(img.height) && img.width > 0 && img.height > 0))
      throw new ImageRequestError(`Image ${i} has an invalid size ${img.width}×${img.height}`);
    if (!(img.byteOffset >= 0 && img.byteOffset + bytes <= binary.byteLength))
      throw new ImageRequestError(`Image ${i} (${img.width}×${img.height}) needs ${bytes} bytes at offset ${img.byteOffset}; the attachment has ${binary.byteLength}`);
    return { rgb: binary.subarray(img.byteOffset, img.byteOffset + bytes), width: img.width, height: img.height };
  });
  let out;
  try {
    out = host.vision.model.encode(rgb);
  } catch (err) {
    throw new ImageRequestError((err as Error).message);
  }
  let blockExtraKey;
  try {
    blockExtraKey = imageBlockKeys(msg.promptIds, rgb, host.vision.config, host.cache.blockSize);
  } catch (err) {
    throw new ImageRequestError((err as Error).message);
  }
  return { features: { values: out.features, hidden: out.hidden, imageTokenId: host.vision.config.imageTokenId }, blockExtraKey };
}
