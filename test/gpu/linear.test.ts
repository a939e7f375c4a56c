// CUDA linears vs the CPU backend on random shapes, odd sizes included, for every weight dtype and each
// kernel regime: the skinny tensor-core kernel (T ≤ 64, with and without split-K), the FP8 tiled GEMM
// (T > 64, K % 16 == 0), the skinny kernel over token tiles (T > 64 with K % 16 != 0), and the f32/f16
// tiled FFMA kernel.
//
// Error budget, relative to magnitude[t, n] = Σ_k |x·w| (what any summation order can be off by):
//   f32 / f16: 2e-6·K (both sides f32 FFMA in different orders)
//   bf16:      3e-5 + 2e-6·K (the GPU splits each f32 activation into two bf16 parts, ~2^-17 relative)
//   fp8:       1.5e-4 + 2e-6·K (identical quantised activations and exact products in f16 mmas; the
//              constant term allows a reduced-precision accumulator inside each 64-element chunk)
import { describe, expect, it } from "vitest";
import { type Backend, DType } from "../../ffi/backend.ts";
import { Rng } from "../../runtime/sampling/rng.ts";
import { randomF32, randomWeights } from "../helpers/random.ts";
import type { WeightKind } from "../helpers/reference-ops.ts";
import { compareLinear, linearFailure } from "./linear-compare.ts";
import { gpuOrSkip } from "./parity.ts";

const gpu = gpuOrSkip("linear");

function check(b: Backend, rng: Rng, kind: WeightKind, T: number, N: number, K: number) {
  expect(linearFailure(compareLinear(b, rng, kind, T, N, K))).toBeNull();
}

describe.skipIf(!gpu)("CUDA linear matches the CPU backend", () => {
  const rng = new Rng(77);
  const small: [number, number, number][] = [
    [1, 7, 5],
    [1, 33, 67],
    [3, 17, 40],
    [5, 9, 129],
    [8, 31, 16],
    [2, 1, 300],
    [1, 16, 64],
  ];
  const skinny: [number, number, number][] = [[1, 257, 1024], [9, 100, 192], [17, 65, 333], [33, 40, 128], [
    64,
    129,
    256,
  ], [1, 24, 4096]];
  const wide: [number, number, number][] = [[65, 257, 1024], [130, 128, 64], [257, 300, 512], [200, 77, 131]];

  it.each(["f32", "f16", "bf16", "fp8"] as WeightKind[])("%s weights, small odd shapes", (kind) => {
    for (const [T, N, K] of small) check(gpu as Backend, rng, kind, T, N, K);
  });

  it.each(["bf16", "fp8"] as WeightKind[])("%s weights, skinny kernel (1..64 tokens, split-K)", (kind) => {
    for (const [T, N, K] of skinny) check(gpu as Backend, rng, kind, T, N, K);
  });

  it.each(["f32", "bf16", "fp8"] as WeightKind[])("%s weights, many tokens (tiled GEMM / token tiles)", (kind) => {
    for (const [T, N, K] of wide) check(gpu as Backend, rng, kind, T, N, K);
  });

  it("fp8 at a real layer's shape (k_proj: 1024 × 12288) for 1 and 3 tokens", () => {
    for (const T of [1, 3]) check(gpu as Backend, rng, "fp8", T, 1024, 12288);
  });

  it("leaves rows of y beyond T·N untouched and reads nothing past the weights (poisoned output)", () => {
    const b = gpu as Backend, T = 3, N = 21, K = 70;
    const x = randomF32(rng, T * K), w = randomWeights(rng, "fp8", N * K);
    using xb = b.fromHost(x);
    using wb = b.fromHost(w);
    using yb = b.fromHost(new Float32Array(T * N + 5).fill(NaN));
    b.linear(yb, xb, { buffer: wb, dtype: DType.F8_E4M3, actScale: 0.02, weightScale: 1 }, T, N, K);
    const y = b.download(yb, new Float32Array(T * N + 5));
    expect(y.subarray(0, T * N).every(Number.isFinite)).toBe(true);
    expect(y.subarray(T * N).every(Number.isNaN)).toBe(true);
  });
});
