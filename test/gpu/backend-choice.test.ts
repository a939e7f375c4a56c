// Runs everywhere: `--backend auto|cpu|cuda` as a user types it. On a machine without a usable GPU, auto
// runs on the CPU and says so on stderr, cuda stops with the reason, and a typo is a usage error.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createBackend } from "../../ffi/backend.ts";
import { parseBackendFlag } from "../../runtime/cli/backend-choice.ts";
import { fixtureDir, Golden, repoRoot } from "../helpers/fixtures.ts";

/** Whether the real CUDA backend runs in this process (the subprocesses below see the same machine). */
function cudaUsable(): boolean {
  try {
    createBackend("cuda");
    return true;
  } catch {
    return false;
  }
}
const usable = cudaUsable();

/** `gust` (runtime/cli/main.ts) loads the gateway too, whose packages the lean device carry leaves out. */
function cliLoads(): boolean {
  const require = createRequire(import.meta.url);
  try {
    require.resolve("sharp");
    require.resolve("esbuild");
    return true;
  } catch {
    return false;
  }
}
const cli = cliLoads();
if (!cli) {
  console.log("gust CLI checks skipped: sharp/esbuild are not installed here (the device carry packs only vitest)");
}
const golden = new Golden("tiny-mistral3-fp8");
const ids = Array.from(golden.i32("random_64.input_ids"));

function gustRun(backend: string) {
  return spawnSync(process.execPath, [
    join(repoRoot, "runtime/cli/main.ts"),
    "run",
    "--model",
    fixtureDir("tiny-mistral3-fp8"),
    "--ids",
    ids.join(","),
    "--max-tokens",
    "4",
    "--temperature",
    "0",
    "--ignore-eos",
    "--backend",
    backend,
    "--json",
  ], { encoding: "utf8" });
}

describe("--backend", () => {
  it("accepts auto, cpu and cuda and names the choices on a typo", () => {
    expect(parseBackendFlag(undefined)).toBe("cpu");
    expect(["auto", "cpu", "cuda"].map((v) => parseBackendFlag(v))).toEqual(["auto", "cpu", "cuda"]);
    expect(() => parseBackendFlag("gpu")).toThrow(/--backend must be auto, cpu or cuda, got "gpu"/);
    if (!cli) return;
    const r = gustRun("gpu");
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--backend must be auto, cpu or cuda/);
  });

  it.skipIf(!cli)(
    "auto generates the golden tokens, on the GPU when one is usable and otherwise on the CPU with a note",
    () => {
      const r = gustRun("auto");
      expect(r.status, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).ids).toEqual(Array.from(golden.i32("random_64.greedy")).slice(0, 4));
      if (usable) expect(r.stderr).not.toMatch(/running on the CPU backend/);
      else {expect(r.stderr).toMatch(
          /--backend auto: running on the CPU backend because the CUDA backend is unavailable: /,
        );}
    },
  );

  it.skipIf(usable || !cli)("cuda without a usable GPU stops with the reason and exit status 1", () => {
    const r = gustRun("cuda");
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /gust run: (gust_init failed \(device error\): no CUDA device|Native library .*libgust_cuda\.so is missing)/,
    );
  });
});
