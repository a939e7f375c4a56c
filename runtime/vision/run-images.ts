// `gust run --image FILE`: reads the PNG files and pairs them, in order, with the image token runs
// already present in the prompt ids, then runs the vision tower for generate()'s `images` option.
// The pixels must already be at the run's grid size (cols·28 × rows·28 for Medium 3.5); a caller that
// can resize (the gateway's mistral-common-compatible bicubic) passes `resize` to fit other sizes.
import { readFileSync } from "node:fs";
import type { ImageFeatures } from "../model/image-prefill.ts";
import { findImageRuns, type ImageRun } from "../wire/image-runs.ts";
import type { LoadedVision } from "./open-vision.ts";
import type { RgbImage } from "./pixels.ts";
import { decodePng, isPng } from "./png.ts";
import { imageTokenIds, type VisionConfig } from "./vision-config.ts";

export interface ImagesForIdsOptions {
  /** Resizes an image to exactly width × height (called only when the file's size differs). */
  resize?: (img: RgbImage, width: number, height: number) => RgbImage;
  /** Reads a file (tests inject bytes); default: fs.readFileSync. */
  readFile?: (path: string) => Uint8Array;
}

export class ImageInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ImageInputError";
  }
}

/** The decoded images for the ids' image runs, one file per run, in order. */
export function imagesForIds(
  ids: ArrayLike<number>,
  files: string[],
  vision: VisionConfig,
  options: ImagesForIdsOptions = {},
): RgbImage[] {
  const runs = findImageRuns(ids, imageTokenIds(vision));
  if (runs.length !== files.length) {
    throw new ImageInputError(
      `The ids hold ${runs.length} image${runs.length === 1 ? "" : "s"} ([IMG] runs) but ${files.length} --image file${
        files.length === 1 ? " was" : "s were"
      } given; pass one --image per image, in prompt order.`,
    );
  }
  const read = options.readFile ?? ((p: string) => new Uint8Array(readFileSync(p)));
  return runs.map((run, k) => fitToRun(loadPng(files[k], read), run, files[k], vision, options.resize));
}

function loadPng(path: string, read: (p: string) => Uint8Array): RgbImage {
  let bytes: Uint8Array;
  try {
    bytes = read(path);
  } catch (err) {
    throw new ImageInputError(`Cannot read --image ${path}: ${(err as Error).message}`);
  }
  if (!isPng(bytes)) {
    throw new ImageInputError(
      `--image ${path} is not a PNG file; gust run reads PNG (convert it, or send it through the gateway, which decodes JPEG, WebP and GIF too)`,
    );
  }
  return decodePng(bytes, { what: path });
}

function fitToRun(
  img: RgbImage,
  run: ImageRun,
  path: string,
  v: VisionConfig,
  resize: ImagesForIdsOptions["resize"],
): RgbImage {
  const cell = v.patchSize * v.spatialMergeSize, width = run.cols * cell, height = run.rows * cell;
  if (img.width === width && img.height === height) return img;
  if (resize) return resize(img, width, height);
  throw new ImageInputError(
    `--image ${path} is ${img.width}×${img.height} pixels, but its image tokens (from token ${run.start}) are a ${run.cols}×${run.rows} grid, which needs ${width}×${height}. ` +
      "Resize the image to that size (model-spec §4.4), or give --prompt/--messages so the layout follows the image.",
  );
}

/** Decodes the files, runs the vision tower and returns generate()'s `images` option. */
export function imageFeaturesForIds(
  vision: LoadedVision,
  ids: ArrayLike<number>,
  files: string[],
  options: ImagesForIdsOptions = {},
): ImageFeatures {
  const images = imagesForIds(ids, files, vision.config, options);
  const out = vision.model.encode(images);
  return { values: out.features, hidden: out.hidden, imageTokenId: vision.config.imageTokenId };
}
