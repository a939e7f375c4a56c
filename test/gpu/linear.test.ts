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
import { e4m3Value, type WeightKind, weightValue } from "../helpers/reference-ops.ts";
import { cpu, gpuOrSkip, nmse, onBoth } from "./parity.ts";

const gpu = gpuOrSkip("linear");
const dtypeOf: Record<WeightKind, DType> = { f32: DType.F32, f16: DType.F16, bf16: DType.BF16, fp8: DType.F8_E4M3 };
const relBudget: Record<WeightKind, (K: number) => number> = {
  f32: (K) => 2e-6 * K,
  f16: (K) => 2e-6 * K,
  bf16: (K) => 3e-5 + 2e-6 * K,
  fp8: (K) => 1.5e-4 + 2e-6 * K,
};
const nmseBudget: Record<WeightKind, number> = { f32: 1e-11, f16: 1e-11, bf16: 1e-9, fp8: 1e-7 };

/** Σ_k |x·w| per output, with x as the kernel sees it (FP8: the CPU's quantised codes). */
function magnitudes(
  x: Float32Array,
  w: Uint8Array,
  kind: WeightKind,
  T: number,
  N: number,
  K: number,
  actScale: number,
): Float64Array {
  let xs: ArrayLike<number> = x;
  if (kind === "fp8") {
    using xb = cpu.fromHost(x);
    using codes = cpu.alloc(x.length);
    cpu.fp8Quantize(codes, xb, x.length, actScale);
    xs = Array.from(cpu.download(codes, new Uint8Array(x.length)), e4m3Value);
  }
  const wv = new Float64Array(N * K);
  for (let i = 0; i < N * K; i++) wv[i] = Math.abs(weightValue(w, kind, i));
  const mag = new Float64Array(T * N);
  for (let t = 0; t < T; t++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += Math.abs(xs[t * K + k]) * wv[n * K + k];
      mag[t * N + n] = s;
    }
  }
  return mag;
}

function check(b: Backend, rng: Rng, kind: WeightKind, T: number, N: number, K: number) {
  const x = randomF32(rng, T * K, 2), w = randomWeights(rng, kind, N * K);
  const actScale = kind === "fp8" ? 0.013 : 0, weightScale = kind === "fp8" ? 0.5 : 1.5;
  const [want, got] = onBoth(
    b,
    [x, w],
    () => new Float32Array(T * N),
    (be, [xb, wb], o) => be.linear(o, xb, { buffer: wb, dtype: dtypeOf[kind], actScale, weightScale }, T, N, K),
  );
  const mag = magnitudes(x, w, kind, T, N, K, actScale);
  const scale = kind === "fp8" ? actScale * weightScale : weightScale, rel = relBudget[kind](K);
  let worst = 0, worstAt = -1;
  for (let i = 0; i < want.length; i++) {
    const excess = Math.abs(got[i] - want[i]) / (rel * mag[i] * scale + 1e-30);
    if (!(excess <= worst)) {
      worst = excess;
      worstAt = i;
    }
  }
  const what = `${kind} T${T} N${N} K${K}`;
  expect(worst, `${what}: element ${worstAt} got ${got[worstAt]}, cpu ${want[worstAt]} (|diff| / budget)`)
    .toBeLessThanOrEqual(1);
  expect(nmse(got, want), `${what}: NMSE`).toBeLessThanOrEqual(nmseBudget[kind]);
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
