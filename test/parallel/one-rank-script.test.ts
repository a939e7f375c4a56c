// The single-GPU NCCL check (test/gpu/nccl-one-rank.ts) is a script a GPU session runs by hand; here it runs on the
// CPU communicator so it cannot rot between GPU sessions: its collectives and its TP 1 through the communicator ≡
// plain check must pass, and a broken model directory must make it fail (exit 1, the failing check named).
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../helpers/fixtures.ts";
import { bunBin } from "../helpers/processes.ts";

const script = join(repoRoot, "test/gpu/nccl-one-rank.ts");
const run = (...args: string[]) => spawnSync(bunBin, [script, "--backend", "cpu", ...args], { encoding: "utf8" });
const summary = (stdout: string) => JSON.parse(stdout.trim().split("\n").at(-1)!);

describe("test/gpu/nccl-one-rank.ts on the CPU communicator", () => {
  it("passes: raw 1-rank collectives leave the data alone, TP 1 through the communicator ≡ plain", () => {
    const r = run();
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const s = summary(r.stdout);
    expect(s).toMatchObject({ backend: "cpu", passed: true });
    expect(s.results.map((c: { check: string }) => c.check)).toEqual([
      "raw collectives on a 1-rank communicator",
      "TP 1 through the communicator ≡ the plain path",
    ]);
  });

  it("fails with exit 1 and names the check when the model cannot load", () => {
    const r = run("--model", join(repoRoot, "test/fixtures/no-such-model"));
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/FAIL TP 1 through the communicator ≡ the plain path: /);
    expect(summary(r.stdout).passed).toBe(false);
  });
});
