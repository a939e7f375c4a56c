/** Image dimensions from the first bytes of PNG, JPEG, GIF, WebP and BMP files (no decoding), and the
 * mistral-common image token layout (model-spec §4.4). */

export interface Size {
  width: number;
  height: number;
}

export function sniffImageSize(b: Uint8Array): Size | null {
  const u16be = (o: number) => (b[o] << 8) | b[o + 1];
  const u16le = (o: number) => b[o] | (b[o + 1] << 8);
  const u32be = (o: number) => ((b[o] << 24) >>> 0) + ((b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]);
  const u24le = (o: number) => b[o] | (b[o + 1] << 8) | (b[o + 2] << 16);
  const ascii = (o: number, s: string) => [...s].every((c, k) => b[o + k] === c.charCodeAt(0));
  if (b.length >= 24 && b[0] === 0x89 && ascii(1, "PNG") && ascii(12, "IHDR")) {
    return { width: u32be(16), height: u32be(20) };
  }
  if (b.length >= 10 && (ascii(0, "GIF87a") || ascii(0, "GIF89a"))) return { width: u16le(6), height: u16le(8) };
  if (b.length >= 26 && ascii(0, "BM")) {
    const h = b[22] | (b[23] << 8) | (b[24] << 16) | (b[25] << 24);
    return { width: b[18] | (b[19] << 8) | (b[20] << 16) | (b[21] << 24), height: Math.abs(h) };
  }
  if (b.length >= 30 && ascii(0, "RIFF") && ascii(8, "WEBP")) {
    if (ascii(12, "VP8X")) return { width: u24le(24) + 1, height: u24le(27) + 1 };
    if (ascii(12, "VP8 ")) return { width: u16le(26) & 0x3fff, height: u16le(28) & 0x3fff };
    if (ascii(12, "VP8L")) {
      const v = b[21] | (b[22] << 8) | (b[23] << 16) | (b[24] << 24);
      return { width: (v & 0x3fff) + 1, height: ((v >>> 14) & 0x3fff) + 1 };
    }
  }
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) {
    let o = 2;
    while (o + 9 < b.length) {
      if (b[o] !== 0xff) return null;
      const marker = b[o + 1];
      if (marker === 0xff) {
        o++;
        continue;
      }
      const len = u16be(o + 2);
      // SOF0..SOF15 except DHT (C4), JPG (C8), DAC (CC)
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        return { width: u16be(o + 7), height: u16be(o + 5) };
      }
      o += 2 + len;
    }
  }
  return null;
}

/** Bytes of a `data:` URL or of raw base64 text. */
export function decodeImageSource(source: string): Uint8Array | null {
  const m = /^data:[^,]*;base64,(.*)$/s.exec(source);
  const b64 = m ? m[1] : /^[A-Za-z0-9+/=\s]+$/.test(source) ? source : null;
  if (b64 === null) return null;
  try {
    const bin = atob(b64.replace(/\s+/g, ""));
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return null;
  }
}

/** Python's round(): halves to even. */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** The token grid mistral-common gives an image: columns and rows of [IMG] (model-spec §4.4). */
export function imageGrid(
  size: Size,
  cfg: { imagePatchSize: number; maxImageSize: number; spatialMergeSize: number },
): { cols: number; rows: number } {
  let { width: w, height: h } = size;
  const ratio = Math.max(h / cfg.maxImageSize, w / cfg.maxImageSize);
  if (ratio > 1) {
    w = roundHalfEven(w / ratio);
    h = roundHalfEven(h / ratio);
  }
  const cell = cfg.imagePatchSize * cfg.spatialMergeSize;
  return { cols: Math.floor((w - 1) / cell) + 1, rows: Math.floor((h - 1) / cell) + 1 };
}

/** `([IMG] * cols + [IMG_BREAK]) * rows`, the last [IMG_BREAK] replaced by [IMG_END]. */
export function imageTokens(
  grid: { cols: number; rows: number },
  ids: { img: number; imgBreak: number; imgEnd: number },
): number[] {
  const out: number[] = [];
  for (let r = 0; r < grid.rows; r++) {
    for (let c = 0; c < grid.cols; c++) out.push(ids.img);
    out.push(r === grid.rows - 1 ? ids.imgEnd : ids.imgBreak);
  }
  return out;
}
