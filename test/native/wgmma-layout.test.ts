// The FP8 wgmma GEMM's index arithmetic (kernels/cuda/wgmma_layout.cuh) compiled for the host by the system C++
// compiler and run on one emulated pipeline stage (test/native/wgmma-layout.cc): the swizzled loader, the
// descriptors the kernel builds for each k32 step, the PTX ISA's rule for what the tensor core reads through them,
// and the accumulator fragment map must reproduce a plain matrix product exactly, and two plausible mistakes must not.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot } from "../helpers/fixtures.ts";

const scratch = mkdtempSync(join(tmpdir(), "gust-wgmma-layout-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function runHarness(): Map<string, string> {
  const exe = join(scratch, "wgmma-layout");
  const cxx = process.env.CXX ?? "c++";
  const source = join(repoRoot, "test", "native", "wgmma-layout.cc");
  const include = join(repoRoot, "kernels", "cuda");
  execFileSync(cxx, ["-O2", "-std=c++17", "-Wall", "-Wextra", "-Werror", "-I", include, "-o", exe, source]);
  const lines = execFileSync(exe, { encoding: "utf8" }).trim().split("\n");
  return new Map(lines.map((l) => [l.slice(0, l.lastIndexOf(" ")), l.slice(l.lastIndexOf(" ") + 1)]));
}

describe("FP8 wgmma GEMM layout (host-compiled wgmma_layout.cuh)", () => {
  const out = runHarness();

  it("maps the 128 threads × 64 accumulator registers onto the 64 × 128 result once each", () => {
    expect(out.get("acc cells covered once")).toBe(String(64 * 128));
    expect(out.get("example acc lane 37 reg 6 row 25 col")).toBe("10");
  });

  it("loads each byte of a W and an xq tile once, each chunk column of an 8-row atom over all 32 banks", () => {
    expect(out.get("tile bytes written once")).toBe(String(2 * 128 * 128));
    expect(out.get("chunk columns over all banks")).toBe(String(16 * 8));
    expect(out.get("example sw128 row 10 chunk 3")).toBe("1296");
  });

  it("reads the tiles back through the kernel's descriptors into the exact product of one 128-byte K stage", () => {
    expect(out.get("example desc")).toBe("0x4000004000010040");
    expect(out.get("stage mismatches")).toBe("0");
  });

  it("catches a descriptor that does not advance along K and one without 8-row atoms", () => {
    expect(Number(out.get("mutant no-k-step mismatches"))).toBeGreaterThan(1000);
    expect(Number(out.get("mutant packed-rows mismatches"))).toBeGreaterThan(1000);
  });
});
