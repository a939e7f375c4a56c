// Small images made on the fly (sharp encodes them) and request builders for the vision tests.
import sharp from "sharp";
import { Buffer } from "node:buffer";

export type Fmt = "png" | "jpeg" | "gif" | "webp";

/** A w × h image with a deterministic pattern, encoded as `fmt`; `alpha` adds a varying alpha channel. */
export async function makeImage(
  w: number,
  h: number,
  fmt: Fmt = "png",
  opts: { alpha?: boolean; orientation?: number; seed?: number } = {},
): Promise<Uint8Array> {
  const ch = opts.alpha ? 4 : 3;
  const raw = new Uint8Array(w * h * ch);
  const seed = opts.seed ?? 0;
  for (let i = 0; i < raw.length; i++) raw[i] = (Math.imul(i + seed * 7919, 2654435761) >>> 24) & 255;
  let img = sharp(raw, { raw: { width: w, height: h, channels: ch } });
  if (opts.orientation) img = img.withMetadata({ orientation: opts.orientation });
  const out =
    await (fmt === "png"
      ? img.png()
      : fmt === "jpeg"
      ? img.jpeg({ quality: 90 })
      : fmt === "gif"
      ? img.gif()
      : img.webp({ lossless: true })).toBuffer();
  return new Uint8Array(out);
}

export const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
export const dataUrl = (bytes: Uint8Array, mime = "image/png") => `data:${mime};base64,${b64(bytes)}`;

/** A chat request with one user message holding the given image sources (OpenAI object form). */
export function chatWith(...sources: string[]): { model: string; messages: unknown[] } {
  return {
    model: "m",
    messages: [{
      role: "user",
      content: [{ type: "text", text: "look" }, ...sources.map((url) => ({ type: "image_url", image_url: { url } }))],
    }],
  };
}

/** CRC-32 (PNG chunk checksums) so hand-made PNG headers are otherwise valid. */
export function crc32(bytes: Uint8Array): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/** A PNG signature + IHDR chunk claiming w × h (8-bit RGB) and nothing else: the decompression-bomb header. */
export function pngHeaderClaiming(w: number, h: number): Uint8Array {
  const ihdr = new Uint8Array(17);
  ihdr.set([0x49, 0x48, 0x44, 0x52]); // "IHDR"
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(4, w);
  dv.setUint32(8, h);
  ihdr.set([8, 2, 0, 0, 0], 12);
  const out = new Uint8Array(8 + 4 + 17 + 4);
  out.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  new DataView(out.buffer).setUint32(8, 13);
  out.set(ihdr, 12);
  new DataView(out.buffer).setUint32(29, crc32(ihdr));
  return out;
}
