// Spawned by linear-wgmma.test.ts with GUST_CUDA_GEMM=wgmma in its environment (the CUDA library reads it once, at
// gust_init, and a test process may already hold a backend made without it): runs FP8 linears of the given shapes
// on the CUDA backend (the CPU under GUST_GPU_SUITES_ON_CPU=1) and on the CPU, and prints one JSON line per shape,
// a LinearComparison, or {"error": reason} when the backend cannot start.
//   bun test/gpu/linear-wgmma-run.ts '[[T, N, K], ...]' SEED
import { Rng } from "../../runtime/sampling/rng.ts";
import { compareLinear } from "./linear-compare.ts";
import { type Backend, createBackend } from "../../ffi/backend.ts";
import { standIn } from "./parity-core.ts";

const shapes = JSON.parse(process.argv[2] ?? "[]") as [number, number, number][];
const rng = new Rng(Number(process.argv[3] ?? 1));
let backend: Backend | null = null;
try {
  backend = createBackend(standIn ? "cpu" : "cuda");
} catch (err) {
  console.log(JSON.stringify({ error: (err as Error).message })); // whole, with the self-test's list if that failed
}
if (backend) {
  for (const [T, N, K] of shapes) {
    console.log(JSON.stringify(compareLinear(backend, rng, "fp8", T, N, K)));
  }
}
