// Runs everywhere the CUDA library was built (no GPU needed): NCCL is loaded at run time, so a missing or wrong
// libnccl is a clear error naming GUST_NCCL_LIBRARY, never a load failure of libgust_cuda.so itself.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { kernelBuildDir } from "../../ffi/library-path.ts";
import { repoRoot } from "../helpers/fixtures.ts";
import { bunBin } from "../helpers/processes.ts";

const cudaLib = join(kernelBuildDir, "libgust_cuda.so");
if (!existsSync(cudaLib)) console.log(`NCCL loader check skipped: ${cudaLib} was not built (no nvcc here)`);

function probe(ncclPath: string) {
  const r = spawnSync(bunBin, [join(repoRoot, "test/gpu/nccl-probe.ts"), cudaLib], {
    encoding: "utf8",
    env: { ...process.env, GUST_NCCL_LIBRARY: ncclPath },
  });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { status: number; error: string };
}

describe.skipIf(!existsSync(cudaLib))("NCCL loaded with dlopen by libgust_cuda.so", () => {
  it("a missing libnccl is status 3 (unsupported) with a message naming GUST_NCCL_LIBRARY", () => {
    const r = probe("/nonexistent/libnccl.so.2");
    expect(r.status).toBe(3);
    expect(r.error).toMatch(/cannot load NCCL from \/nonexistent\/libnccl.so.2 .*set GUST_NCCL_LIBRARY/);
  });

  it("a library that is not NCCL is named as such", () => {
    const r = probe("libm.so.6");
    expect(r.status).toBe(3);
    expect(r.error).toMatch(/libm.so.6 has no ncclGetErrorString; it is not NCCL 2/);
  });
});
