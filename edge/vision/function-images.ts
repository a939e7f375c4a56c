/** Image preparation for functions (`c.var.model.prepareImages`, the SDK's `vision()` and images passed to
 * `c.var.model.chat`): the same library and model settings as the chat routes' vision hook, with the function's own
 * caps on top. Runs in the gateway, so a deployed function's bundle needs no image codecs. */
import type { VisionState } from "../../functions/http/env.ts";
import type { ModelInfo } from "../../functions/sdk/binding.ts";
import type { FunctionVisionOptions, ImagePreparer } from "../../functions/sdk/types.ts";
import { ImageCache } from "./cache.ts";
import { asVisionError, VisionError } from "./errors.ts";
import { resolveOptions } from "./options.ts";
import { prepareRequestImages } from "./request-images.ts";

export function functionImagePreparer(info: () => ModelInfo): ImagePreparer {
  const cache = new ImageCache(); // shared by every function of this gateway: keyed by content and grid
  return async (body: unknown, options: FunctionVisionOptions): Promise<VisionState> => {
    const model = info();
    const image = model.image;
    if (!model.hasVision || !image) {
      throw new VisionError(400, "image_source", `model ${model.id} takes text only; send text content`);
    }
    const o = resolveOptions({
      maxImages: model.limits.maxImagesPerRequest || 8,
      ...options,
      imagePatchSize: image.patchSize,
      spatialMergeSize: image.spatialMergeSize,
      maxImageSize: image.maxImageSize,
    });
    try {
      return await prepareRequestImages(body, o, cache);
    } catch (e) {
      throw asVisionError(e);
    }
  };
}
