// One linear on the CPU and on a second backend, measured against the error budget of test/gpu/linear.test.ts
// (its header explains the budgets). Vitest-free so that linear-wgmma-run.ts, spawned with GUST_CUDA_GEMM=wgmma,
// can run the same comparison; the suites turn a LinearComparison into expectations.
import { type Backend, DType } from "../../ffi/backend.ts";
import type { Rng } from "../../runtime/sampling/rng.ts";
import { randomF32, randomWeights } from "../helpers/random.ts";
import { e4m3Value, type WeightKind, weightValue } from "../helpers/reference-ops.ts";
import { cpu, nmse, onBoth } from "./parity-core.ts";

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

export interface LinearComparison {
  what: string;
  /** The largest |got − cpu| / budget over all outputs (≤ 1 passes), and where it is. */
  worst: number;
  worstAt: number;
  got: number;
  want: number;
  nmse: number;
  nmseBudget: number;
}

/** Random x and W of `kind` at T × N × K through `b.linear` and the CPU's, compared element by element. */
export function compareLinear(
  b: Backend,
  rng: Rng,
  kind: WeightKind,
  T: number,
  N: number,
  K: number,
): LinearComparison {
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
  return {
    what: `${kind} T${T} N${N} K${K}`,
    worst,
    worstAt,
    got: got[worstAt],
    want: want[worstAt],
    nmse: nmse(got, want),
    nmseBudget: nmseBudget[kind],
  };
}

/** Null when a comparison is within both budgets, else what failed: the shape, the worst element, the NMSE. */
export function linearFailure(c: LinearComparison): string | null {
  if (c.worst <= 1 && c.nmse <= c.nmseBudget) return null;
  return `${c.what}: element ${c.worstAt} got ${c.got}, cpu ${c.want} (${c.worst.toPrecision(3)} × budget); ` +
    `NMSE ${c.nmse.toExponential(2)} (budget ${c.nmseBudget.toExponential(1)})`;
}
