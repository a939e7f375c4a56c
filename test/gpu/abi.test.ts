// Runs everywhere (no GPU needed): the CUDA library, when this machine built it, exports exactly the
// functions kernels/gust.h declares, the same ones the CPU library and ffi's symbol table have; and
// asking for the CUDA backend where it cannot run fails with a clear error instead of crashing.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createBackend } from "../../ffi/backend.ts";
import { kernelBuildDir } from "../../ffi/library-path.ts";
import { symbols } from "../../ffi/symbols.ts";
import { repoRoot } from "../helpers/fixtures.ts";

const cudaLib = join(kernelBuildDir, "libgust_cuda.so"), cpuLib = join(kernelBuildDir, "libgust_cpu.so");
const hasNm = spawnSync("nm", ["--version"]).status === 0;
const hasNvcc = spawnSync("nvcc", ["--version"]).status === 0;
const hasGpuDevice = existsSync("/dev/nvidia0") || existsSync("/dev/nvidiactl");

/** Function names declared in the header (`int32_t gust_x(` / `const char *gust_x(`). */
function headerFunctions(): string[] {
  const text = readFileSync(join(repoRoot, "kernels", "gust.h"), "utf8");
  return [...text.matchAll(/^[A-Za-z_][\w\s]*?\*?\s*(gust_\w+)\s*\(/gm)].map((m) => m[1]).sort();
}

/** Defined dynamic function symbols of a shared library. */
function exported(path: string): string[] {
  const r = spawnSync("nm", ["-D", "--defined-only", path], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`nm -D ${path} failed: ${r.stderr}`);
  return r.stdout.split("\n").map((l) => l.trim().split(/\s+/)).filter((f) => f.length === 3 && /[TtWi]/.test(f[1]))
    .map((f) => f[2]).sort();
}

if (!hasNm) console.log("ABI symbol checks skipped: `nm` (binutils) is not installed");
if (!existsSync(cudaLib)) {
  console.log(
    `CUDA symbol check skipped: ${cudaLib} was not built (nvcc ${
      hasNvcc ? "is present, so run `npm run build`" : "is not on PATH here"
    })`,
  );
}

describe("native ABI symbol sets", () => {
  it("ffi's symbol table lists exactly the functions kernels/gust.h declares", () => {
    const declared = headerFunctions();
    expect(declared.length).toBeGreaterThan(25);
    expect(Object.keys(symbols).sort()).toEqual(declared);
  });

  it.skipIf(!hasNm)("the CPU library exports every ABI function", () => {
    const cpu = new Set(exported(cpuLib));
    expect(headerFunctions().filter((f) => !cpu.has(f)), "missing from libgust_cpu.so").toEqual([]);
  });

  it.skipIf(!hasNm || !existsSync(cudaLib))(
    "the CUDA library exports exactly the ABI functions the CPU library exports",
    () => {
      const abi = headerFunctions();
      const cpuAbi = exported(cpuLib).filter((f) => abi.includes(f));
      expect(exported(cudaLib), "libgust_cuda.so exports (CUDA runtime and helpers stay hidden)").toEqual(abi);
      expect(cpuAbi).toEqual(abi);
    },
  );

  it.skipIf(!hasNvcc)("where nvcc exists, npm run build produced the CUDA library", () => {
    expect(existsSync(cudaLib), `${cudaLib} should exist after npm run build`).toBe(true);
  });
});

if (hasGpuDevice) {
  console.log("No-GPU checks skipped: this machine has an NVIDIA device node (/dev/nvidia*); test/gpu covers it");
}

describe.skipIf(hasGpuDevice)("the CUDA backend on a machine without a GPU", () => {
  it("createBackend('cuda') throws a clear error and the process carries on", () => {
    const want = existsSync(cudaLib)
      ? /gust_init failed \(device error\): no CUDA device: .*use --backend cpu/
      : /libgust_cuda\.so is missing: `npm run build` builds it only where nvcc/;
    expect(() => createBackend("cuda")).toThrow(want);
    expect(() => createBackend("cuda")).toThrow(want); // a second attempt fails the same way
    expect(createBackend("cpu").kind).toBe("cpu");
  });

  it("a separate process that asks for it exits normally after the error (no crash at exit)", () => {
    const code = `import { createBackend } from ${JSON.stringify(join(repoRoot, "ffi/backend.ts"))};
      try { createBackend("cuda"); console.log("loaded"); } catch (e) { console.log("refused: " + e.message); }`;
    const r = spawnSync(process.execPath, ["-e", code], { encoding: "utf8", cwd: repoRoot });
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^refused: .*(no CUDA device|is missing)/);
  });
});
