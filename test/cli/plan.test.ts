// `gust plan` as a user runs it (a real child process) on the header-only Mistral Medium 3.5 stand-in.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot } from "../helpers/fixtures.ts";
import { writeMediumStandIn } from "../helpers/medium-standin.ts";

const scratch = mkdtempSync(join(tmpdir(), "gust-plan-cli-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const model = join(scratch, "medium");
writeMediumStandIn(model);

function plan(args: string[]) {
  const r = spawnSync("bun", ["runtime/cli/main.ts", "plan", "--model", model, ...args], {
    cwd: repoRoot,
    encoding: "utf8",
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The per-rank table's rows, split into their columns. */
const rankRows = (stdout: string) =>
  stdout.split("\n").filter((l) => /^\s+\d+\s+\d/.test(l)).map((l) => l.trim().split(/\s{2,}/));

describe("gust plan", () => {
  it("one 80 GB GPU: does not fit, needs TP >= 2", () => {
    const r = plan(["--gpus", "1", "--gpu-memory", "80"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("checkpoint " + model + ": 2465 tensors, 124.43 GiB (read from headers)");
    expect(r.stdout).toContain("does not fit: rank 0 needs 124.43 GiB for its weights alone");
    expect(r.stdout).toContain(
      "needs TP >= 2 on 80.00 GiB GPUs (TP 2: context 29,456; TP 4: context 262,144; TP 8: context 262,144)",
    );
  });

  it("four 80 GB GPUs: one row per rank with weights, workspace, KV per token and tokens", () => {
    const r = plan(["--gpus", "4", "--gpu-memory", "80GiB"]);
    expect(r.status).toBe(0);
    const rows = rankRows(r.stdout);
    expect(rows).toHaveLength(4);
    expect(rows[0]).toEqual(["0", "37.10 GiB", "0.13 GiB", "0.68 GiB", "88.0 KiB", "34.09 GiB", "406,240"]);
    expect(r.stdout).toContain("24 of 96 query heads, 2 of 8 KV heads (split)");
    expect(r.stdout).toContain("fits: KV pool of 406,240 tokens, context 262,144 tokens");
  });

  it("one 141 GB H200 with the vision tower at the default utilization: fits, with its small context (one full image)", () => {
    const r = plan(["--gpus", "1", "--gpu-memory", "141"]);
    expect(r.status).toBe(0);
    expect(rankRows(r.stdout)[0]).toEqual([
      "0",
      "124.43 GiB",
      "0.13 GiB",
      "1.01 GiB",
      "352.0 KiB",
      "1.33 GiB",
      "3,936",
    ]);
    expect(r.stdout).toContain(
      "workspace of rank 0: the larger of activations 0.96 GiB (f32) and one vision-tower call 0.65 GiB (they take " +
        "turns) + FP8 scratch 0.05 GiB",
    );
    expect(r.stdout).toContain("fits: KV pool of 3,936 tokens, context 3,936 tokens");
    expect(r.stdout).not.toContain("note:"); // a 1540² image (3,080 tokens) fits in the context
    // with a shorter pool the command says that a full-size image no longer fits
    const short = plan(["--gpus", "1", "--gpu-memory", "140.5"]);
    expect(short.stdout).toContain("note: one 1540×1540 image takes 3,080 tokens, more than this context");
  });

  it("--json carries the same verdict for scripts", () => {
    const r = plan(["--gpus", "1", "--gpu-memory", "141", "--text-only", "--json"]);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ tpSize: 1, fits: true, contextTokens: 18816 });
    expect(out.ranks[0].kvBytesPerToken).toBe(360448);
  });

  it.each([
    [
      ["--gpus", "3", "--gpu-memory", "80"],
      /--gpus 3: .*neither split into 3.*sizes that work: 1, 2, 4, 8, 16, 24, 32, 48, 96/,
    ],
    [["--gpus", "2"], /--gpu-memory GiB is required/],
    [["--gpus", "2", "--gpu-memory", "lots"], /--gpu-memory must be a positive size/],
    [["--gpus", "2", "--gpu-memory", "80", "--kv-cache-dtype", "int4"], /--kv-cache-dtype must be auto, f32, bf16/],
    [["--gpus", "2", "--gpu-memory", "80", "--max-model-len", "300000"], /exceeds the model's context of 262144/],
    [["--gpus", "0", "--gpu-memory", "80"], /--gpus must be an integer ≥ 1/],
  ])("%j is refused with status 2 and a clear message", (args, message) => {
    const r = plan(args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});
