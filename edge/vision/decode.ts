/** Decoding through sharp (libvips): PNG, JPEG, GIF (first frame), WebP, with EXIF orientation applied on
 * request, to 8-bit samples. Only bytes that format.ts already identified and size-checked get here.
 *
 * Choices, and how they differ from mistral-common (PIL):
 * - `failOn: "warning"`: a truncated or damaged file is refused, as PIL refuses it (LOAD_TRUNCATED_IMAGES off),
 *   instead of being decoded with grey filler.
 * - `limitInputPixels` repeats the header check inside the decoder, so a header that lies cannot get past it.
 * - Animated GIF/WebP: the first frame only (`pages: 1`), as PIL's Image.open shows it.
 * - 16-bit PNGs are reduced to 8 bits; CMYK JPEGs and files with an ICC profile are converted to sRGB by libvips
 *   (PIL would leave the raw values). Ordinary 8-bit sRGB files decode to the same samples as PIL's.
 */
import sharp from "sharp";
import type { Metadata, SharpOptions } from "sharp";
import { VisionError } from "./errors.ts";
import type { Header } from "./format.ts";

// libvips' operation cache would keep decoded images alive across requests for no gain here.
sharp.cache(false);

export interface Decoded {
  width: number;
  height: number;
  /** 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA, interleaved, 8 bits. */
  channels: number;
  data: Uint8Array;
}

function inputOptions(maxPixels: number): SharpOptions {
  return { failOn: "warning", limitInputPixels: maxPixels, pages: 1, animated: false };
}

/** sharp's message without anything that could point into the file system; the caller adds what we expected. */
function decoderDetail(e: unknown): string {
  const m = (e instanceof Error ? e.message : String(e)).split("\n")[0].replace(/\/[^\s:]+/g, "<path>");
  return m.length > 160 ? m.slice(0, 160) + "..." : m;
}

/** Size after orientation, from the header (no pixel decoding). EXIF orientations 5–8 swap width and height. */
export async function orientedSize(
  bytes: Uint8Array,
  header: Header,
  maxPixels: number,
  applyExif: boolean,
): Promise<{ width: number; height: number }> {
  let meta: Metadata;
  try {
    meta = await sharp(bytes, inputOptions(maxPixels)).metadata();
  } catch (e) {
    throw new VisionError(
      400,
      "image_decode",
      `${header.format.toUpperCase()} file could not be read (${
        decoderDetail(e)
      }); send an intact PNG, JPEG, GIF or WebP`,
    );
  }
  if (meta.format !== header.format) {
    // Our sniffer and the decoder disagree about what the file is: refuse rather than guess.
    throw new VisionError(
      400,
      "image_format",
      `image bytes start like ${header.format.toUpperCase()} but the decoder reads ${
        String(meta.format).toUpperCase()
      }; send an intact PNG, JPEG, GIF or WebP`,
    );
  }
  const swap = applyExif && (meta.orientation ?? 1) >= 5;
  return swap ? { width: header.height, height: header.width } : { width: header.width, height: header.height };
}

/** Decode to 8-bit interleaved samples, oriented if asked. */
export async function decode(
  bytes: Uint8Array,
  header: Header,
  maxPixels: number,
  applyExif: boolean,
): Promise<Decoded> {
  try {
    let img = sharp(bytes, inputOptions(maxPixels));
    if (applyExif) img = img.autoOrient();
    const { data, info } = await img.raw({ depth: "uchar" }).toBuffer({ resolveWithObject: true });
    return {
      width: info.width,
      height: info.height,
      channels: info.channels,
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    };
  } catch (e) {
    throw new VisionError(
      400,
      "image_decode",
      `${header.format.toUpperCase()} image could not be decoded (${
        decoderDetail(e)
      }); the file is truncated or corrupt`,
    );
  }
}
