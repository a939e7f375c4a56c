// The projector's patch merger (model-spec §4.3) without a bespoke kernel.
//
// transformers unfolds each s×s block of patches channel-major: merged token (R, C) is the vector
//   u[ch·s² + k] = f_ch(s·R + dy, s·C + dx),  k = dy·s + dx,
// and merging_layer multiplies it by W[out, ch·s² + k]. We instead gather the block's s² patch rows
// patch-major, g[k·d + ch] = f_ch(...) (a plain row gather), and permute W's columns once at load time,
// W'[out, k·d + ch] = W[out, ch·s² + k]. Then W'·g = W·u exactly (the same products, summed in another order).

/**
 * Source rows for gust_gather_rows: for each merged token in raster order, its s² patch rows (dy, dx)
 * in row-major order. Patches of the image are rows `offset + r·cols + c` of the encoder output.
 * Example: a 4×6 patch grid (rows × cols), s = 2, offset 0 → 2×3 merged tokens; token (R=0, C=1) takes
 * patches (0,2), (0,3), (1,2), (1,3) = rows 2, 3, 8, 9; token (1, 0) takes rows 12, 13, 18, 19.
 */
export function mergerSourceRows(rows: number, cols: number, s: number, offset: number): Int32Array {
  if (rows % s !== 0 || cols % s !== 0) {
    throw new RangeError(`A ${rows}×${cols} patch grid does not split into ${s}×${s} blocks`);
  }
  const out = new Int32Array(rows * cols);
  let i = 0;
  for (let R = 0; R < rows / s; R++) {
    for (let C = 0; C < cols / s; C++) {
      for (let dy = 0; dy < s; dy++) {
        for (let dx = 0; dx < s; dx++) out[i++] = offset + (s * R + dy) * cols + (s * C + dx);
      }
    }
  }
  return out;
}

/**
 * Permutes merging_layer's columns from channel-major (ch·s² + k) to patch-major (k·d + ch).
 * `bytes` holds W [outDim, d·s²] row-major with `elementBytes` per value.
 * Example: d = 2, s² = 4, one output row [c0k0 c0k1 c0k2 c0k3 c1k0 c1k1 c1k2 c1k3]
 *   → [c0k0 c1k0 c0k1 c1k1 c0k2 c1k2 c0k3 c1k3].
 */
export function permuteMergingColumns(
  bytes: Uint8Array,
  outDim: number,
  d: number,
  s: number,
  elementBytes: number,
): Uint8Array {
  const blocks = s * s, inDim = d * blocks;
  if (bytes.byteLength !== outDim * inDim * elementBytes) {
    throw new RangeError(`merging_layer has ${bytes.byteLength} bytes, expected ${outDim}×${inDim}×${elementBytes}`);
  }
  const out = new Uint8Array(bytes.byteLength);
  for (let o = 0; o < outDim; o++) {
    const row = o * inDim * elementBytes;
    for (let ch = 0; ch < d; ch++) {
      for (let k = 0; k < blocks; k++) {
        const src = row + (ch * blocks + k) * elementBytes, dst = row + (k * d + ch) * elementBytes;
        for (let b = 0; b < elementBytes; b++) out[dst + b] = bytes[src + b];
      }
    }
  }
  return out;
}
