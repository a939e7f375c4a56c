// `gust run --image FILE`: PNG files paired with the image runs of the prompt, through the vision tower.
// With --ids the layout must already be in the ids (and the files sized to it); with --prompt it is built
// from each image's size and the files are resized like mistral-common does (exact OpenCV INTER_CUBIC).
import type { Backend } from "../../ffi/backend.ts";
import type { ModelConfig } from "../config/text-config.ts";
import type { ImageFeatures } from "../model/image-prefill.ts";
import { encodeChat, type Tokenizer } from "../text/index.ts";
import { requireVision } from "../vision/open-vision.ts";
import { decodePng } from "../vision/png.ts";
import { imageFeaturesForIds } from "../vision/run-images.ts";
import { readFileSync } from "node:fs";
import { UsageError } from "./usage-error.ts";
import { resizeBicubic, toBytes } from "../../edge/vision/bicubic.ts";
import type { RgbImage } from "../vision/pixels.ts";

/** The same resize the gateway applies (float32 INTER_CUBIC, rounded to bytes). */
function resizeRgb(img: RgbImage, width: number, height: number): RgbImage {
  const out = resizeBicubic({ width: img.width, height: img.height, channels: 3, data: img.rgb }, width, height);
  return { rgb: toBytes(out.data), width, height };
}

export function featuresFor(
  config: ModelConfig,
  backend: Backend,
  promptIds: number[],
  files: string[],
  resize: boolean,
): ImageFeatures {
  const vision = requireVision(config, backend);
  try {
    return imageFeaturesForIds(vision, promptIds, files, resize ? { resize: resizeRgb } : {});
  } catch (err) {
    throw new UsageError((err as Error).message);
  } finally {
    vision.dispose();
  }
}

/** One user message: the images (in order) then the text, chat-encoded with each image's token grid. */
export function promptWithImages(tok: Tokenizer, text: string, files: string[], reasoningEffort?: string): number[] {
  const content = files.map((f) => {
    const png = decodePng(new Uint8Array(readFileSync(f)));
    return { type: "image_size" as const, width: png.width, height: png.height };
  });
  return encodeChat(tok, {
    messages: [{ role: "user", content: [...content, { type: "text", text }] }],
    reasoning_effort: reasoningEffort ?? null,
  }).ids;
}
