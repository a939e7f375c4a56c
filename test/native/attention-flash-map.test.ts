// The tensor-core prefill kernel's index arithmetic (kernels/cuda/attention_flash_map.cuh) checked on the CPU:
// test/native/attention-flash-map.cc, built by the system C++ compiler, checks the mma.sync fragment maps
// against the PTX ISA's formulas (each element held once, P reusable from the score registers, conflict-free
// K loads) and emulates every block of attention_flash.cu lane by lane (paged tile walk, chunk after cached
// keys, causal bounds, online softmax) against double-precision attention: exact with f32 inputs, and the
// error bf16 rounding costs (what test/gpu/attention-flash.test.ts budgets for).
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot } from "../helpers/fixtures.ts";

const scratch = mkdtempSync(join(tmpdir(), "gust-flash-map-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const exe = join(scratch, "attention-flash-map");
const cxx = process.env.CXX ?? "c++";
const source = join(repoRoot, "test", "native", "attention-flash-map.cc");
execFileSync(cxx, [
  "-O2",
  "-std=c++17",
  "-Wall",
  "-Wextra",
  "-Werror",
  "-I",
  join(repoRoot, "kernels"),
  "-o",
  exe,
  source,
]);

/** Runs the harness; returns its per-problem NMSE and largest absolute error, failing on any map check. */
function run(mode: "exact" | "bf16"): { name: string; nmse: number; maxAbs: number }[] {
  const lines = execFileSync(exe, [mode], { encoding: "utf8" }).trim().split("\n");
  expect(lines.filter((l) => l.startsWith("FAIL")), "fragment map checks").toEqual([]);
  expect(lines.at(-1)).toBe("failures 0");
  return lines.filter((l) => l.startsWith("nmse")).map((l) => {
    const parts = l.split(" ");
    return { name: parts.slice(1, 7).join(" "), nmse: Number(parts[7]), maxAbs: Number(parts[9]) };
  });
}

describe("tensor-core prefill index maps (host emulation)", () => {
  it("matches double-precision attention to f32 rounding with f32 inputs", () => {
    const rows = run("exact");
    expect(rows.length).toBe(6);
    for (const r of rows) expect(r.nmse, r.name).toBeLessThan(1e-11);
  });

  it("stays inside the GPU test's bf16 budget with Q, K, V and P rounded to bf16", () => {
    for (const r of run("bf16")) {
      expect(r.nmse, r.name).toBeLessThan(5e-5); // measured 4.5e-6 .. 8.1e-6
      expect(r.nmse, `${r.name}: rounding must show`).toBeGreaterThan(1e-8);
      expect(r.maxAbs, r.name).toBeLessThan(1e-2);
    }
  });
});
