// A small PNG reader and writer for `gust run --image` and the test fixtures (the gateway decodes every
// format with its own library). Reads all standard colour types at bit depths 1–16, non-interlaced,
// verifies chunk CRCs, refuses oversized dimensions before inflating, and composites transparency onto
// white (model-spec §4.4: RGBA/paletted inputs are composited onto white before conversion to RGB).
// 16-bit samples keep their high byte, as PIL's RGB conversion does.
import { deflateSync, inflateSync } from "node:zlib";
import type { RgbImage } from "./pixels.ts";

export class PngError extends Error {
  constructor(what: string, detail: string) {
    super(`${what}: ${detail}`);
    this.name = "PngError";
  }
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

export function crc32(bytes: Uint8Array, crc = 0xffffffff): number {
  for (let i = 0; i < bytes.length; i++) crc = CRC_TABLE[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return crc;
}

export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && SIGNATURE.every((b, i) => bytes[i] === b);
}

export interface PngOptions {
  /** Refuse images with more pixels than this (checked from the header, before inflating). */
  maxPixels?: number;
  /** Names the input in errors (a file path). */
  what?: string;
}

interface Header {
  width: number;
  height: number;
  depth: number;
  colorType: number;
}

/** Paeth predictor (PNG spec §9.4). */
function paeth(a: number, b: number, c: number): number {
  const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Undoes the per-row filters in place; returns the raw scanlines (without filter bytes). */
function unfilter(data: Uint8Array, h: Header, what: string): Uint8Array {
  const bpp = Math.max(1, (CHANNELS[h.colorType] * h.depth) >> 3);
  const stride = Math.ceil((h.width * CHANNELS[h.colorType] * h.depth) / 8);
  if (data.length < h.height * (stride + 1)) {
    throw new PngError(what, `image data is truncated: ${data.length} bytes, ${h.height * (stride + 1)} expected`);
  }
  const out = new Uint8Array(h.height * stride);
  for (let y = 0; y < h.height; y++) {
    const filter = data[y * (stride + 1)], src = y * (stride + 1) + 1, row = y * stride, prev = row - stride;
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? out[row + x - bpp] : 0,
        b = y > 0 ? out[prev + x] : 0,
        c = y > 0 && x >= bpp ? out[prev + x - bpp] : 0;
      let v = data[src + x];
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) v += paeth(a, b, c);
      else if (filter !== 0) throw new PngError(what, `row ${y} has unknown filter type ${filter}`);
      out[row + x] = v & 0xff;
    }
  }
  return out;
}

/** Sample `i` (0-based along the row) of a scanline, scaled to 0..255 (high byte for 16-bit). */
function sample(row: Uint8Array, offset: number, i: number, depth: number, indexed: boolean): number {
  if (depth === 8) return row[offset + i];
  if (depth === 16) return row[offset + 2 * i];
  const perByte = 8 / depth, byte = row[offset + Math.floor(i / perByte)];
  const v = (byte >> (8 - depth * ((i % perByte) + 1))) & ((1 << depth) - 1);
  return indexed ? v : Math.round((v * 255) / ((1 << depth) - 1));
}

export function decodePng(bytes: Uint8Array, options: PngOptions = {}): RgbImage {
  const what = options.what ?? "PNG", maxPixels = options.maxPixels ?? 64 * 1024 * 1024;
  if (!isPng(bytes)) throw new PngError(what, "not a PNG file (the 8-byte signature is missing)");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let header: Header | null = null, palette: Uint8Array | null = null, trns: Uint8Array | null = null, ended = false;
  const idat: Uint8Array[] = [];
  for (let o = 8; !ended;) {
    if (o + 12 > bytes.length) throw new PngError(what, `truncated at byte ${o} (no IEND chunk)`);
    const len = view.getUint32(o), type = String.fromCharCode(...bytes.subarray(o + 4, o + 8));
    if (o + 12 + len > bytes.length) {
      throw new PngError(what, `truncated: chunk ${type} at byte ${o} claims ${len} bytes`);
    }
    const data = bytes.subarray(o + 8, o + 8 + len);
    if ((crc32(bytes.subarray(o + 4, o + 8 + len)) ^ 0xffffffff) >>> 0 !== view.getUint32(o + 8 + len)) {
      throw new PngError(what, `chunk ${type} at byte ${o} fails its CRC check (corrupt file)`);
    }
    if (type === "IHDR") {
      if (len !== 13) throw new PngError(what, `IHDR has ${len} bytes, not 13`);
      const dv = new DataView(data.buffer, data.byteOffset, 13);
      header = { width: dv.getUint32(0), height: dv.getUint32(4), depth: data[8], colorType: data[9] };
      if (!(header.colorType in DEPTHS) || !DEPTHS[header.colorType].includes(header.depth)) {
        throw new PngError(
          what,
          `colour type ${header.colorType} with bit depth ${header.depth} is not a valid PNG combination`,
        );
      }
      if (data[12] !== 0) {
        throw new PngError(what, "interlaced (Adam7) PNGs are not supported here; re-save it without interlacing");
      }
      if (header.width === 0 || header.height === 0) {
        throw new PngError(what, `empty image ${header.width}×${header.height}`);
      }
      if (header.width * header.height > maxPixels) {
        throw new PngError(
          what,
          `${header.width}×${header.height} pixels exceeds the limit of ${maxPixels}; downscale it first`,
        );
      }
    } else if (!header) throw new PngError(what, `chunk ${type} comes before IHDR`);
    else if (type === "PLTE") palette = data;
    else if (type === "tRNS") trns = data;
    else if (type === "IDAT") idat.push(data);
    else if (type === "IEND") ended = true;
    o += 12 + len;
  }
  const h = header!;
  if (h.colorType === 3 && !palette) throw new PngError(what, "paletted image without a PLTE chunk");
  const stride = Math.ceil((h.width * CHANNELS[h.colorType] * h.depth) / 8);
  let inflated: Uint8Array;
  try {
    inflated = inflateSync(Buffer.concat(idat), { maxOutputLength: h.height * (stride + 1) + 1 });
  } catch (err) {
    throw new PngError(what, `image data does not inflate (corrupt or truncated): ${(err as Error).message}`);
  }
  const raw = unfilter(inflated, h, what);
  return toRgb(raw, h, stride, palette, trns, what);
}

/** Converts scanlines of any colour type to RGB bytes, compositing alpha onto white. */
function toRgb(
  raw: Uint8Array,
  h: Header,
  stride: number,
  palette: Uint8Array | null,
  trns: Uint8Array | null,
  what: string,
): RgbImage {
  const { width: W, height: H, depth, colorType } = h, ch = CHANNELS[colorType];
  const rgb = new Uint8Array(W * H * 3);
  const key = trns && colorType !== 3
    ? Array.from({ length: trns.length / 2 }, (_, i) => (trns[2 * i] << 8) | trns[2 * i + 1])
    : null;
  const blend = (c: number, a: number) => Math.round((c * a + 255 * (255 - a)) / 255);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const s = (i: number) => sample(raw, y * stride, x * ch + i, depth, colorType === 3);
      let r: number, g: number, b: number, a = 255;
      if (colorType === 3) {
        const idx = s(0);
        if (3 * idx + 2 >= palette!.length) {
          throw new PngError(
            what,
            `palette index ${idx} at (${x}, ${y}) is outside the ${palette!.length / 3}-entry palette`,
          );
        }
        [r, g, b] = [palette![3 * idx], palette![3 * idx + 1], palette![3 * idx + 2]];
        if (trns && idx < trns.length) a = trns[idx];
      } else if (colorType === 0 || colorType === 4) {
        r = g = b = s(0);
        if (colorType === 4) a = s(1);
      } else {
        [r, g, b] = [s(0), s(1), s(2)];
        if (colorType === 6) a = s(3);
      }
      if (key) { // tRNS for gray/RGB: one exact sample value (at the file's bit depth) is transparent
        const rawAt = (
          i: number,
        ) => (depth === 16
          ? (raw[y * stride + 2 * (x * ch + i)] << 8) | raw[y * stride + 2 * (x * ch + i) + 1]
          : sample(raw, y * stride, x * ch + i, depth, true));
        const match = colorType === 0
          ? rawAt(0) === key[0]
          : rawAt(0) === key[0] && rawAt(1) === key[1] && rawAt(2) === key[2];
        if (match) a = 0;
      }
      const o = (y * W + x) * 3;
      rgb[o] = blend(r, a);
      rgb[o + 1] = blend(g, a);
      rgb[o + 2] = blend(b, a);
    }
  }
  return { rgb, height: H, width: W };
}

/** An 8-bit RGB PNG (filter 0 on every row). */
export function encodePng(img: RgbImage): Uint8Array {
  const { width: W, height: H, rgb } = img;
  const raw = new Uint8Array(H * (W * 3 + 1));
  for (let y = 0; y < H; y++) raw.set(rgb.subarray(y * W * 3, (y + 1) * W * 3), y * (W * 3 + 1) + 1);
  const ihdr = new Uint8Array(13);
  new DataView(ihdr.buffer).setUint32(0, W);
  new DataView(ihdr.buffer).setUint32(4, H);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const parts = [
    Uint8Array.from(SIGNATURE),
    chunk("IHDR", ihdr),
    chunk("IDAT", new Uint8Array(deflateSync(raw))),
    chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((o, p) => (out.set(p, o), o + p.length), 0);
  return out;
}

/** One chunk: length, type, data, CRC over type + data. */
export function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length), dv = new DataView(out.buffer);
  dv.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  dv.setUint32(8 + data.length, (crc32(out.subarray(4, 8 + data.length)) ^ 0xffffffff) >>> 0);
  return out;
}
