// FP8 linears at Mistral Medium 3.5's two largest shapes (gate/up 28672 × 12288, down 12288 × 28672) for 32, 128
// and 8192 tokens, on the default GEMM (mma.sync) and on the wgmma GEMM (GUST_CUDA_GEMM=wgmma, issue 38), each in
// its own process because the CUDA library reads the switch once at start. Prints TFLOP/s (median of 5 rounds and
// the spread) side by side, and how far the two kernels' outputs at 128 tokens are apart. Needs an H100/H200; run
// by tools/gpu/device-check.sh's `wgmma` step (≤ 30 s):
//   bun bench/lab/gpu-wgmma.ts [--json FILE] [--backend cpu]
// --backend cpu runs the script's plumbing at 1/64 of each dimension on the CPU (checks it without a GPU).
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type Backend, createBackend, DType } from "../../ffi/backend.ts";

const { values } = parseArgs({
  options: { json: { type: "string" }, child: { type: "string" }, backend: { type: "string", default: "cuda" } },
});
const onCpu = values.backend === "cpu";
const SHAPES: [string, number, number][] = onCpu
  ? [["gate/up 448x192", 448, 192], ["down 192x448", 192, 448]]
  : [["gate/up 28672x12288", 28672, 12288], ["down 12288x28672", 12288, 28672]];
const TOKENS = onCpu ? [32, 128, 256] : [32, 128, 8192];

interface Row {
  shape: string;
  T: number;
  tflops: number;
  spread: [number, number];
}

/** In a child: times every shape and token count on this process's GEMM, writes y at 128 tokens into `dir`. */
function measure(dir: string): void {
  let b: Backend;
  try {
    b = createBackend(onCpu ? "cpu" : "cuda");
  } catch (err) {
    console.error(`gpu-wgmma: ${(err as Error).message.split("\n")[0]}`);
    process.exit(1);
  }
  for (const [shape, N, K] of SHAPES) {
    using w = b.alloc(N * K);
    b.fillRandom(w, { count: N * K, dtype: DType.F8_E4M3, seed: 38, tensorId: N, firstIndex: 0, offset: 0, scale: 1 });
    const weight = { buffer: w, dtype: DType.F8_E4M3, actScale: 0.01, weightScale: 0.02 };
    for (const T of TOKENS) {
      using x = b.alloc(T * K * 4);
      using y = b.alloc(T * N * 4);
      b.fillRandom(x, { count: T * K, dtype: DType.F32, seed: 38, tensorId: T, firstIndex: 0, offset: 0, scale: 1 });
      const run = () => b.linear(y, x, weight, T, N, K);
      const reps = T >= 8192 ? 2 : 20;
      run();
      b.synchronize();
      const tflops: number[] = [];
      for (let r = 0; r < 5; r++) {
        const t0 = performance.now();
        for (let i = 0; i < reps; i++) run();
        b.synchronize();
        tflops.push((2 * T * N * K * reps) / ((performance.now() - t0) / 1e3) / 1e12);
      }
      tflops.sort((p, q) => p - q);
      const row: Row = { shape, T, tflops: tflops[2], spread: [tflops[0], tflops[4]] };
      console.log(JSON.stringify(row));
      if (T === 128) writeFileSync(join(dir, `${N}x${K}.f32`), b.download(y, new Float32Array(T * N)));
    }
  }
}

/** max |a − b| / max |a|, over a whole output. */
function relativeGap(a: Float32Array, b: Float32Array): number {
  let diff = 0, scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(a[i]));
  }
  return diff / scale;
}

if (values.child) {
  measure(values.child);
} else {
  const dir = mkdtempSync(join(tmpdir(), "gust-gpu-wgmma-"));
  const results: Record<string, Row[]> = {};
  try {
    for (const gemm of ["mma", "wgmma"]) {
      const sub = join(dir, gemm);
      mkdirSync(sub);
      const r = spawnSync(process.execPath, [process.argv[1], "--child", sub, "--backend", values.backend ?? "cuda"], {
        encoding: "utf8",
        env: { ...process.env, GUST_CUDA_GEMM: gemm },
      });
      if (r.status !== 0) {
        console.log(
          `${gemm}: failed (exit ${r.status}): ${(r.stderr || r.stdout).trim().split("\n")[0]}`,
        );
        results[gemm] = [];
        continue;
      }
      results[gemm] = r.stdout.trim().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
    }
    const tf = (v: number) => v.toFixed(v < 10 ? 2 : 0);
    const fmt = (row?: Row) => row ? `${tf(row.tflops).padStart(5)} (${row.spread.map(tf).join("–")})` : "    —";
    console.log("FP8 linear TFLOP/s, median of 5 (min–max); dense FP8 peak 1979");
    console.log(`${"shape".padEnd(22)} ${"tokens".padStart(6)}  ${"mma.sync".padEnd(18)} wgmma`);
    for (const [shape] of SHAPES) {
      for (const T of TOKENS) {
        const pick = (g: string) => results[g].find((r) => r.shape === shape && r.T === T);
        console.log(
          `${shape.padEnd(22)} ${String(T).padStart(6)}  ${fmt(pick("mma")).padEnd(18)} ${fmt(pick("wgmma"))}`,
        );
      }
    }
    for (const [shape, N, K] of SHAPES) {
      try {
        const read = (g: string) => new Float32Array(readFileSync(join(dir, g, `${N}x${K}.f32`)).buffer);
        console.log(
          `${shape} at 128 tokens: max |wgmma − mma| / max |mma| = ${
            relativeGap(read("mma"), read("wgmma")).toExponential(2)
          }`,
        );
      } catch (err) {
        console.log(`${shape}: no outputs to compare (${(err as Error).message})`);
      }
    }
    if (values.json) writeFileSync(values.json, JSON.stringify(results, null, 2));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
