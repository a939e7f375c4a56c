// FP8 linear on the exact-arithmetic corner: weights on e4m3's subnormal and smallest normal codes (both signs),
// activations that quantise to e4m3 values exactly, power-of-two scales, and sums small enough to stay exact in
// f32. Every path must then give the exact result bit for bit: a path that reads subnormal weights as zero
// (denormals-are-zero, or a wrong bit expansion) or drops a sign is off by whole products, which the tolerance of
// the random-shape parity test in kernels.test.ts is too loose to see.
import { describe, expect, it } from "vitest";
import { createBackend, DType } from "../../ffi/backend.ts";
import { Rng } from "../../runtime/sampling/rng.ts";
import { e4m3Value } from "../helpers/reference-ops.ts";

const backend = createBackend("cpu");
// feature masks: AVX-512 + AVX2, AVX2 alone, portable C (bits the CPU lacks stay off)
const paths = backend.vectorized ? [3, 1, 0] : [0];
// [tokens, outputs, inputs]: row dots of 1 token with 32/16/8/scalar tails, tiles of 2 and 4 tokens (rows left over,
// several K blocks, scalar tails), and the GEMM (12+ tokens)
const SHAPES = [[1, 9, 5], [1, 13, 67], [1, 4, 2085], [2, 5, 40], [3, 7, 67], [4, 6, 131], [5, 3, 24], [17, 50, 67]]
  .concat([[4, 7, 2085], [2, 6, 4100]]);
// weights: subnormals (exponent 0) and exponent 1, both signs (|w| ≤ 0.0293); activations: exponents ≤ 4 (|x| ≤
// 0.47). Products are multiples of 2^-18 and any partial sum is below 4,100 · 0.0293 · 0.47 < 2^6: 24 bits, exact.
const weightCodes = Array.from({ length: 16 }, (_, i) => i).flatMap((c) => [c, 0x80 | c]);
const activationCodes = Array.from({ length: 40 }, (_, i) => i).flatMap((c) => [c, 0x80 | c]);

describe.each(paths)("FP8 linear, exact corner (feature mask %i)", (mask) => {
  it("gives the exact sum on subnormal weights of both signs", () => {
    backend.useCpuFeatures(mask);
    const rng = new Rng(5 + mask), actScale = 0.25, weightScale = 0.5;
    const pick = (codes: number[]) => codes[rng.nextU32() % codes.length];
    try {
      for (const [T, N, K] of SHAPES) {
        const w = Uint8Array.from({ length: N * K }, () => pick(weightCodes));
        const xq = Float64Array.from({ length: T * K }, () => e4m3Value(pick(activationCodes)));
        const x = Float32Array.from(xq, (v) => v * actScale);
        using xb = backend.fromHost(x);
        using wb = backend.fromHost(w);
        using yb = backend.alloc(T * N * 4);
        backend.linear(yb, xb, { buffer: wb, dtype: DType.F8_E4M3, actScale, weightScale }, T, N, K);
        const got = backend.download(yb, new Float32Array(T * N));
        for (let t = 0; t < T; t++) {
          for (let n = 0; n < N; n++) {
            let sum = 0; // exact (see the codes above), and the scales are powers of two
            for (let k = 0; k < K; k++) sum += e4m3Value(w[n * K + k]) * xq[t * K + k];
            expect(got[t * N + n], `T${T} N${N} K${K} token ${t} row ${n}`).toBe(sum * actScale * weightScale);
          }
        }
      }
    } finally {
      backend.useCpuFeatures(3);
    }
  });
});
