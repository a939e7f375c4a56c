// FP8 linears quantise their activations to e4m3 (x / act_scale, round to nearest even, saturating at ±448) before
// the dot. The row dots and the GEMM round eight lanes at a time on AVX2; the portable loop calls the scalar encoder.
// Through an identity weight matrix each output is one activation's e4m3 value × act_scale, so every rounding
// corner (each midpoint between neighbouring codes and one f32 step either side, the subnormal quantum, ±448 and
// beyond) is checked bit for bit against an exhaustive-search encoder, on each feature mask and token count.
import { describe, expect, it } from "vitest";
import { createBackend, DType } from "../../ffi/backend.ts";
import { e4m3Encode, e4m3Value } from "../helpers/reference-ops.ts";

const backend = createBackend("cpu");
const paths = backend.vectorized ? [3, 1, 0] : [0];
const actScale = 0.25; // a power of two: x / act_scale and the output scaling are exact

/** One f32 step above (+1) or below (-1) a positive float. */
function nudge(v: number, direction: 1 | -1): number {
  const f = new Float32Array([v]), bits = new Uint32Array(f.buffer);
  bits[0] += direction;
  return f[0];
}

function corners(): number[] {
  const finite = Array.from({ length: 0x7f }, (_, code) => e4m3Value(code)); // 0 … 448, ascending
  const out: number[] = [];
  for (let i = 0; i + 1 < finite.length; i++) {
    const middle = (finite[i] + finite[i + 1]) / 2;
    out.push(finite[i], middle, nudge(middle, 1), nudge(middle, -1));
  }
  out.push(448, 460, 464, 470, 479.9, 480, 1e6, 3e38, 3.4e38, 2 ** -10, 3 * 2 ** -10, 1e-30, 1e-40, 0.3, 0.015, 0.0155);
  return out.flatMap((v) => [v * actScale, -v * actScale]);
}

describe.each(paths)("FP8 activation rounding (feature mask %i)", (mask) => {
  it.each([1, 4, 16])("%i token(s) through an identity matrix give each activation's e4m3 value", (T) => {
    backend.useCpuFeatures(mask);
    try {
      const values = corners(), K = 509; // odd: every path's scalar tail rounds some of them too
      const w = new Uint8Array(K * K);
      for (let n = 0; n < K; n++) w[n * K + n] = 0x38; // 1.0
      const rounds = Math.ceil(values.length / (T * K)); // shift the values so every one is seen at T = 1 too
      for (let round = 0; round < rounds; round++) {
        const xs = Float32Array.from({ length: T * K }, (_, i) => values[(i + round * T * K) % values.length]);
        using xb = backend.fromHost(xs);
        using wb = backend.fromHost(w);
        using yb = backend.alloc(T * K * 4);
        backend.linear(yb, xb, { buffer: wb, dtype: DType.F8_E4M3, actScale, weightScale: 1 }, T, K, K);
        const got = backend.download(yb, new Float32Array(T * K));
        for (let i = 0; i < T * K; i++) {
          const want = e4m3Value(e4m3Encode(Math.fround(xs[i] / actScale))) * actScale;
          expect(got[i] + 0, `T${T} activation ${xs[i]}`).toBe(want + 0);
        }
      }
    } finally {
      backend.useCpuFeatures(3);
    }
  });
});
