/** Format and size from the first bytes, before any decoder sees the file: this is where decompression bombs
 * (a 50 000 × 50 000 PNG of a few kilobytes) are refused, and where formats we do not decode (SVG, TIFF, BMP,
 * HEIC, ...) stop, so the decoder's larger attack surface is never reached for them. */
import { sniffImageSize } from "../../runtime/text/chat/image-size.ts";
import { num, VisionError } from "./errors.ts";

export type ImageFormat = "png" | "jpeg" | "gif" | "webp";

export interface Header {
  format: ImageFormat;
  /** As stored (before EXIF orientation). */
  width: number;
  height: number;
}

const ascii = (b: Uint8Array, o: number, s: string) =>
  b.length >= o + s.length && [...s].every((c, k) => b[o + k] === c.charCodeAt(0));

/** The format the magic bytes say, or null. */
export function sniffFormat(b: Uint8Array): ImageFormat | null {
  if (b.length >= 8 && b[0] === 0x89 && ascii(b, 1, "PNG\r\n\x1a\n")) return "png";
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "jpeg";
  if (ascii(b, 0, "GIF87a") || ascii(b, 0, "GIF89a")) return "gif";
  if (ascii(b, 0, "RIFF") && ascii(b, 8, "WEBP")) return "webp";
  return null;
}

/** What the bytes look like when they are not one of ours, for the error message. */
function describe(b: Uint8Array): string {
  if (ascii(b, 0, "BM")) return "a BMP file";
  if (ascii(b, 0, "II*\0") || ascii(b, 0, "MM\0*")) return "a TIFF file";
  if (ascii(b, 4, "ftyp")) return "an ISO media file (HEIC/AVIF/MP4)";
  const head = new TextDecoder("utf-8", { fatal: false }).decode(b.subarray(0, 256)).trimStart().toLowerCase();
  if (head.startsWith("<svg") || head.startsWith("<?xml")) return "SVG/XML text";
  if (head.startsWith("<!doctype html") || head.startsWith("<html")) return "an HTML page";
  return "not a recognised image format";
}

/** Format and stored size, checked against the pixel cap. Throws VisionError with the numbers. */
export function readHeader(b: Uint8Array, maxPixels: number): Header {
  const format = sniffFormat(b);
  if (format === null) {
    throw new VisionError(400, "image_format", `image bytes are ${describe(b)}; allowed formats: PNG, JPEG, GIF, WebP`);
  }
  const size = sniffImageSize(b);
  if (size === null || !(size.width > 0 && size.height > 0)) {
    throw new VisionError(
      400,
      "image_decode",
      `${format.toUpperCase()} header is truncated or corrupt: no valid width and height found`,
    );
  }
  const pixels = size.width * size.height;
  if (pixels > maxPixels) {
    throw new VisionError(
      413,
      "image_too_many_pixels",
      `image is ${num(size.width)} x ${num(size.height)} = ${num(pixels)} pixels; the limit is ${
        num(maxPixels)
      } pixels per image`,
    );
  }
  return { format, width: size.width, height: size.height };
}
