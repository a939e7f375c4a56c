// Plain TypeScript twins of the vision kernels (f64 loops), and an erf accurate to ~1e-15 so the exact
// GELU has a reference (JavaScript has no Math.erf).

/** erf(z) = 2/√π · e^(−z²) · Σ 2ⁿ z^(2n+1) / (1·3·…·(2n+1)): every term positive, so no cancellation. */
export function erf(z: number): number {
  if (z < 0) return -erf(-z);
  if (z > 6) return 1;
  let term = z, sum = z;
  for (let n = 1; n < 400 && term > 1e-17 * sum; n++) {
    term *= (2 * z * z) / (2 * n + 1);
    sum += term;
  }
  return (2 / Math.sqrt(Math.PI)) * Math.exp(-z * z) * sum;
}

export const geluRef = (x: number) => 0.5 * x * (1 + erf(x / Math.SQRT2));

/** Block-diagonal, non-causal attention: row t of segment s attends to rows starts[s] .. starts[s+1]−1. */
export function segmentAttentionRef(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  starts: Int32Array,
  H: number,
  KV: number,
  D: number,
  scale: number,
): Float64Array {
  const T = starts[starts.length - 1], out = new Float64Array(T * H * D), group = H / KV;
  for (let s = 0; s + 1 < starts.length; s++) {
    for (let t = starts[s]; t < starts[s + 1]; t++) {
      for (let h = 0; h < H; h++) {
        const kvh = Math.floor(h / group), scores: number[] = [];
        for (let j = starts[s]; j < starts[s + 1]; j++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[(t * H + h) * D + d] * k[(j * KV + kvh) * D + d];
          scores.push(dot * scale);
        }
        const max = Math.max(...scores), e = scores.map((x) => Math.exp(x - max)), total = e.reduce((a, x) => a + x, 0);
        for (let j = starts[s]; j < starts[s + 1]; j++) {
          for (let d = 0; d < D; d++) {
            out[(t * H + h) * D + d] += (e[j - starts[s]] / total) * v[(j * KV + kvh) * D + d];
          }
        }
      }
    }
  }
  return out;
}
