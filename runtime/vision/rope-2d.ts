// The encoder's 2-D rotary table (model-spec §4.2 step 3), laid out for gust_rope.
//
// freqs[j] = 1 / θ^(2j/D) for j < D/2. A patch at (row r, column c) rotates pair i (i < D/2) by
//   angle[i] = r · freqs[2i]            for i < D/4   (row frequencies: the even entries)
//   angle[i] = c · freqs[2(i − D/4) + 1] for i ≥ D/4   (column frequencies: the odd entries)
// and, as in transformers, the same angle drives elements i and i + D/2 (rotate-half), which is exactly
// gust_rope's pairing. The table has one entry per (r, c) < maxSide², indexed by r · maxSide + c.
// Example, D = 12, maxSide = 8: patch (2, 5) reads table row 21; its angles are
//   [2·f0, 2·f2, 2·f4, 5·f1, 5·f3, 5·f5].
// Arithmetic is f32 like transformers (freqs, products and cos/sin each rounded to f32).

const f = Math.fround;

export interface VisionRopeTables {
  cos: Float32Array;
  sin: Float32Array;
  /** Entries in the table: maxSide². */
  length: number;
}

export function visionRopeTables(headDim: number, theta: number, maxSide: number): VisionRopeTables {
  const half = headDim / 2, quarter = headDim / 4;
  const freqs = Float32Array.from({ length: half }, (_, j) => f(1 / f(Math.pow(theta, f(f(2 * j) / headDim)))));
  const length = maxSide * maxSide;
  const cos = new Float32Array(length * half), sin = new Float32Array(length * half);
  for (let r = 0; r < maxSide; r++) {
    for (let c = 0; c < maxSide; c++) {
      const base = (r * maxSide + c) * half;
      for (let i = 0; i < half; i++) {
        const angle = i < quarter ? f(r * freqs[2 * i]) : f(c * freqs[2 * (i - quarter) + 1]);
        cos[base + i] = f(Math.cos(angle));
        sin[base + i] = f(Math.sin(angle));
      }
    }
  }
  return { cos, sin, length };
}

/** Table rows of an image's patches in raster order: r · maxSide + c. */
export function patchPositions(rows: number, cols: number, maxSide: number, out: Int32Array, offset: number): void {
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[offset + r * cols + c] = r * maxSide + c;
}
