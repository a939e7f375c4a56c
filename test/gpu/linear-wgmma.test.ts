// The FP8 wgmma GEMM (kernels/cuda/linear_wgmma.cu, issue 38) against the CPU backend: a child process with
// GUST_CUDA_GEMM=wgmma (linear-wgmma-run.ts) runs random FP8 shapes, odd N and K included (K % 16 != 0 takes the
// byte-wise W loader), T from 5 (the smallest the switch sends there) to 333 (three token tiles), with the error
// budget of test/gpu/linear.test.ts. Needs an sm_90 GPU (H100/H200): elsewhere gust_init refuses the switch, which
// the last tests check.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../helpers/fixtures.ts";
import { type LinearComparison, linearFailure } from "./linear-compare.ts";
import { gpuOrSkip, standIn } from "./parity.ts";

const gpu = gpuOrSkip("linear-wgmma");

/** "9.0" on an H100/H200, from nvidia-smi; "" where it cannot say. */
function computeCapability(): string {
  const r = spawnSync("nvidia-smi", ["--query-gpu=compute_cap", "--format=csv,noheader"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.split("\n")[0].trim() : "";
}
const capability = gpu && !standIn ? computeCapability() : "";
const hopper = standIn || capability === "9.0";
if (gpu && !hopper) console.log(`GPU tests skipped (linear-wgmma): needs sm_90, this GPU is "${capability}"`);

/** The child's output lines, parsed: comparisons, or one {error}. */
function runWith(
  gemm: string,
  shapes: [number, number, number][],
  seed: number,
): (LinearComparison | { error: string })[] {
  const r = spawnSync(process.execPath, [
    join(repoRoot, "test/gpu/linear-wgmma-run.ts"),
    JSON.stringify(shapes),
    `${seed}`,
  ], {
    encoding: "utf8",
    env: { ...process.env, GUST_CUDA_GEMM: gemm },
    timeout: 100_000,
  });
  if (r.status !== 0) throw new Error(`linear-wgmma-run.ts exited ${r.status}: ${r.stderr}`);
  return r.stdout.trim().split("\n").map((l) => JSON.parse(l));
}

const shapesByTokens: Record<number, [number, number, number][]> = {
  5: [[5, 77, 131], [5, 1024, 4096]],
  8: [[8, 129, 1024], [8, 31, 16]],
  17: [[17, 256, 520], [17, 257, 40]],
  64: [[64, 300, 384]],
  128: [[128, 128, 2048], [128, 130, 100]],
  333: [[333, 200, 640], [333, 65, 129]],
};

describe.skipIf(!gpu || !hopper)("FP8 wgmma GEMM (GUST_CUDA_GEMM=wgmma) matches the CPU backend", () => {
  const results = new Map<string, LinearComparison>();
  beforeAll(() => {
    const lines = runWith("wgmma", Object.values(shapesByTokens).flat(), 38);
    for (const line of lines) {
      if ("error" in line) throw new Error(`the CUDA backend with GUST_CUDA_GEMM=wgmma did not start: ${line.error}`);
      results.set(line.what, line);
    }
  });

  it.each(Object.keys(shapesByTokens).map(Number))("%i tokens, odd N and K", (T) => {
    for (const [t, n, k] of shapesByTokens[T]) {
      const c = results.get(`fp8 T${t} N${n} K${k}`);
      expect(c, `fp8 T${t} N${n} K${k} ran`).toBeDefined();
      expect(linearFailure(c as LinearComparison)).toBeNull();
    }
  });
});

describe.skipIf(!gpu || standIn)("GUST_CUDA_GEMM is checked when the CUDA backend starts", () => {
  it("names the choices on an unknown value", () => {
    const [line] = runWith("wgmma2", [], 1);
    expect("error" in line && line.error).toMatch(/GUST_CUDA_GEMM=wgmma2 is not one of mma \(the default\) or wgmma/);
  });

  it.skipIf(hopper)("refuses wgmma on a GPU other than sm_90, saying to unset it", () => {
    const [line] = runWith("wgmma", [], 1);
    expect("error" in line && line.error).toMatch(/GUST_CUDA_GEMM=wgmma needs an sm_90 GPU .*unset GUST_CUDA_GEMM/);
  });
});

describe("bench/lab/gpu-wgmma.ts (device-check's wgmma step)", () => {
  it("prints both GEMMs' TFLOP/s per shape and token count, and their outputs' gap (its CPU check mode)", () => {
    const r = spawnSync(process.execPath, [join(repoRoot, "bench/lab/gpu-wgmma.ts"), "--backend", "cpu"], {
      encoding: "utf8",
    });
    expect(r.status, r.stderr).toBe(0);
    for (const shape of ["gate/up 448x192", "down 192x448"]) {
      for (const T of [32, 128, 256]) {
        expect(r.stdout).toMatch(new RegExp(`^${shape} +${T} +[\\d.]+ \\([\\d.]+–[\\d.]+\\) +[\\d.]+ \\(`, "m"));
      }
      expect(r.stdout).toContain(`${shape} at 128 tokens: max |wgmma − mma| / max |mma| = 0.00e+0`);
    }
  });
});
