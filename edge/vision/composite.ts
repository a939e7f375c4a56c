/** Decoded samples (grey, grey+alpha, RGB, RGBA) to RGB, transparency composited onto white exactly as
 * mistral-common's `_convert_to_rgb` does with PIL: convert to RGBA, then `white.paste(img, mask=img)`.
 *
 * PIL's paste blends each channel with integer arithmetic,
 *   out = DIV255(white · (255 − a) + c · a),   DIV255(v) = ((v + 128) + ((v + 128) >> 8)) >> 8,
 * which is v / 255 rounded to nearest. Worked example: c = 1, a = 128 → v = 255 · 127 + 128 = 32513
 * (v / 255 = 127.502); t = 32641, (127 + 32641) >> 8 = 128, where truncating v / 255 would give 127. The parity test checks
 * this against PIL's own output (test/vision/pipeline-parity.test.ts). */

/** out[i] = round((255·(255 − a) + c·a) / 255) in PIL's integer form. */
function blendWhite(c: number, a: number): number {
  const t = 255 * (255 - a) + c * a + 128;
  return ((t >> 8) + t) >> 8;
}

/** `channels` samples per pixel (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA) → packed RGB. */
export function toRgbOnWhite(data: Uint8Array, pixels: number, channels: number): Uint8Array {
  if (data.length !== pixels * channels) {
    throw new RangeError(
      `expected ${pixels * channels} samples for ${pixels} pixels x ${channels}, got ${data.length}`,
    );
  }
  if (channels === 3) return data;
  const out = new Uint8Array(pixels * 3);
  if (channels === 1) {
    for (let p = 0; p < pixels; p++) out[p * 3] = out[p * 3 + 1] = out[p * 3 + 2] = data[p];
  } else if (channels === 2) {
    for (let p = 0; p < pixels; p++) {
      out[p * 3] = out[p * 3 + 1] = out[p * 3 + 2] = blendWhite(data[p * 2], data[p * 2 + 1]);
    }
  } else if (channels === 4) {
    for (let p = 0; p < pixels; p++) {
      const a = data[p * 4 + 3];
      if (a === 255) {
        out[p * 3] = data[p * 4];
        out[p * 3 + 1] = data[p * 4 + 1];
        out[p * 3 + 2] = data[p * 4 + 2];
      } else {
        out[p * 3] = blendWhite(data[p * 4], a);
        out[p * 3 + 1] = blendWhite(data[p * 4 + 1], a);
        out[p * 3 + 2] = blendWhite(data[p * 4 + 2], a);
      }
    }
  } else {
    throw new RangeError(`cannot convert ${channels}-channel pixels to RGB (expected 1 to 4)`);
  }
  return out;
}
