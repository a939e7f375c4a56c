// `gust bench --random-model` as a user runs it (a real child process, CPU backend, the tiny preset with one of its
// two layers and tiny lengths): every phase reports finite figures, the layer it skipped is scaled for, the JSON
// file matches; bad flags are usage errors. And tools/gpu/device-check.sh's dry run names every step.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { RandomBenchResult } from "../../runtime/bench/random-model.ts";
import { repoRoot } from "../helpers/fixtures.ts";

const scratch = mkdtempSync(join(tmpdir(), "gust-bench-random-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function gust(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync("bun", ["runtime/cli/main.ts", "bench", ...args], {
    cwd: repoRoot,
    encoding: "utf8",
    env: { ...process.env, ...env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("gust bench --random-model", () => {
  it("runs decode and prefill through the engine on one of two layers and scales to both", () => {
    const jsonFile = join(scratch, "tiny.json");
    const r = gust([
      ..."--random-model tiny --layers 1 --batches 1,3 --prompt-tokens 8 --decode-steps 2 --prefill 24".split(" "),
      ..."--kv-cache-dtype fp8 --peak-bandwidth-gbs 100 --peak-fp8-tflops 1 --threads 1 --json-file".split(" "),
      jsonFile,
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/tiny: 1 of 2 layers \(--layers\), random weights seed 1, KV fp8/);
    const result = JSON.parse(readFileSync(jsonFile, "utf8")) as RandomBenchResult;
    expect([result.totalLayers, result.loadedLayers, result.backend]).toEqual([2, 1, "cpu"]);
    expect(result.phases.map((p) => [p.phase, p.batch, p.tokens])).toEqual([
      ["decode", 1, 8],
      ["decode", 3, 8],
      ["prefill", 1, 24],
    ]);
    for (const p of result.phases) {
      expect(p.layersRun).toBe(1);
      expect(p.baseline?.layers, "one layer ran, so the scaling's base run has none").toBe(0);
      // t(2 layers) = t(0) + 2 · (t(1) − t(0)), never below t(1) (a noisy base run on a loaded machine)
      const [t1, t0] = [p.atLayers.ms[0], p.baseline!.run.ms[0]];
      expect(p.fullModelMs).toBeCloseTo(Math.max(t1, 2 * t1 - t0), 6);
      expect(p.fullModelTokensPerSecond).toBeGreaterThan(0);
      expect(Number.isFinite(p.fullModelTokensPerSecond)).toBe(true);
      expect(p.ceiling.datasheet).toBeGreaterThan(0);
    }
    expect(result.phases[0].ceiling.measured).toBeGreaterThan(0);
    expect(result.kvCapacity.dtype).toBe("fp8");
    expect(r.stdout).toMatch(/decode batch {3}1 after 8: .* tok\/s, step .* scaled to 2\]; roofline /);
    expect(r.stdout).toMatch(/prefill {5}24 tokens: .* s to the first token/);
  });

  it("refuses an unknown model and a layer count past the model's", () => {
    const unknown = gust(["--random-model", "nope"]);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/--random-model must be one of mistral-medium-3.5, tiny, got "nope"/);
    const layers = gust(["--random-model", "tiny", "--layers", "3"]);
    expect(layers.status).toBe(2);
    expect(layers.stderr).toMatch(/--layers must be at most 2 \(the layers of tiny\), got 3/);
  });
});

describe("tools/gpu/device-check.sh", () => {
  it("names every step with its time box in a dry run", () => {
    const r = spawnSync("bash", ["tools/gpu/device-check.sh"], {
      cwd: repoRoot,
      encoding: "utf8",
      env: { ...process.env, DRY_RUN: "1", OUT: join(scratch, "out") },
    });
    expect(r.status, r.stderr).toBe(0);
    for (const step of ["build", "nccl", "bench", "peer", "tests", "wgmma", "attention", "profile"]) {
      expect(r.stdout).toMatch(new RegExp(`^\\[${step}, ≤ \\d+ s\\] `, "m"));
    }
    expect(r.stdout).toMatch(/bench --random-model mistral-medium-3.5 --backend cuda --kv-cache-dtype fp8/);
    expect(r.stdout).toMatch(
      /device-check \(cpu, \d+ s\): build=dry nccl=dry bench=dry peer=dry tests=dry wgmma=dry attention=dry profile=dry/,
    );
  });
});
