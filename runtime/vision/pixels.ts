// From RGB bytes to the patch rows the patch convolution reads (model-spec §4.1, §4.2 step 1).
//
// Normalisation matches transformers' PixtralImageProcessor bit for bit: rescale in f64 then round to
// f32 (x · 1/255), then (x − mean) / std in f32 with f32 mean/std. Each channel has only 256 inputs, so
// three 256-entry tables hold every possible value.
//
// The patch convolution (Conv2d C→hidden, kernel = stride = p, no bias) is a linear layer over flattened
// patches when a patch is flattened in the weight's own order [C, kh, kw]: element c·p² + ky·p + kx of
// patch (r, c') is pixel (row r·p + ky, column c'·p + kx) of channel c. Patches are in raster order.

const f = Math.fround;

/** CLIP mean/std (RGB) as f32, the values the processor config stores. */
export const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073].map(f);
export const CLIP_STD = [0.26862954, 0.26130258, 0.27577711].map(f);
export const RESCALE = 1 / 255;

export interface RgbImage {
  /** Height × width × 3 bytes, row-major, RGB (no alpha: composite it before). */
  rgb: Uint8Array;
  height: number;
  width: number;
}

/** tables[c][byte] = normalised value of `byte` in channel c. */
export function normalizationTables(mean = CLIP_MEAN, std = CLIP_STD, rescale = RESCALE): Float32Array[] {
  return mean.map((m, c) => Float32Array.from({ length: 256 }, (_, x) => f(f(f(x * rescale) - f(m)) / f(std[c]))));
}

const defaultTables = normalizationTables();

/** The processor's pixel_values for one image: [3, H, W] f32 (channel-major). */
export function pixelValues(img: RgbImage, tables = defaultTables): Float32Array {
  const { rgb, height: H, width: W } = img;
  const out = new Float32Array(3 * H * W);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      for (let c = 0; c < 3; c++) out[(c * H + y) * W + x] = tables[c][rgb[(y * W + x) * 3 + c]];
    }
  }
  return out;
}

/**
 * Writes the image's patches as rows of 3·p² normalised values into `out` from row `firstRow`.
 * Example, p = 14, a 28×42 image: 2×3 patches; row firstRow + 4 is patch (1, 1), whose element
 * 1·196 + 2·14 + 5 is the green value of pixel (row 14 + 2, column 14 + 5).
 */
export function writePatches(
  img: RgbImage,
  p: number,
  out: Float32Array,
  firstRow: number,
  tables = defaultTables,
): void {
  const { rgb, width: W } = img;
  const rows = img.height / p, cols = W / p, rowLen = 3 * p * p;
  for (let r = 0; r < rows; r++) {
    for (let q = 0; q < cols; q++) {
      const base = (firstRow + r * cols + q) * rowLen;
      for (let c = 0; c < 3; c++) {
        const table = tables[c];
        for (let ky = 0; ky < p; ky++) {
          const src = ((r * p + ky) * W + q * p) * 3 + c, dst = base + c * p * p + ky * p;
          for (let kx = 0; kx < p; kx++) out[dst + kx] = table[rgb[src + kx * 3]];
        }
      }
    }
  }
}
