// The --tensor-parallel flag on `gust run` and `gust bench` (real processes end to end): TP 2 prints TP 1's
// tokens, a size the heads refuse exits with the sizes that work, and the bench reports both step times with
// the all-reduce share.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../helpers/fixtures.ts";
import { bunBin } from "../helpers/processes.ts";

const gust = (args: string[]) =>
  spawnSync(bunBin, [join(repoRoot, "runtime/cli/main.ts"), ...args], { cwd: repoRoot, encoding: "utf8" });

describe("--tensor-parallel on the command line", () => {
  it("gust run --tp 2 (with an EAGLE draft) prints the tokens gust run prints at TP 1", () => {
    const args = ["run", "--model", "test/fixtures/tiny-mistral3-fp8", "--ids", "1,5,9,22,7", "--max-tokens", "10"];
    const spec = ["--draft", "test/fixtures/tiny-mistral3-eagle", "--threads", "1", "--json"];
    const one = gust([...args, "--threads", "1", "--json"]);
    const two = gust([...args, ...spec, "--tensor-parallel", "2"]);
    expect(one.status, one.stderr).toBe(0);
    expect(two.status, two.stderr).toBe(0);
    expect(JSON.parse(two.stdout).ids).toEqual(JSON.parse(one.stdout).ids);
    expect(JSON.parse(two.stdout).spec.drafted).toBeGreaterThan(0);
  });

  it("a size the head rule refuses exits at start naming the sizes that work", () => {
    const r = gust(["run", "--model", "test/fixtures/odd-bf16", "--ids", "1,2", "--tp", "4"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /size 4 cannot shard this model: 4 does not divide the 6 query heads; sizes that work: 1, 3, 6/,
    );
    const both = gust([
      "run",
      "--model",
      "test/fixtures/odd-bf16",
      "--ids",
      "1",
      "--tp",
      "3",
      "--tensor-parallel",
      "3",
    ]);
    expect(both.status).toBe(2);
  });

  it("gust bench --tp 2 reports the step time at TP 1 and TP 2 and the all-reduce share", () => {
    const bench = ["bench", "--tp", "2", "--tp-model", "test/fixtures/tiny-mistral3-fp8", "--threads", "1"];
    const r = gust([...bench, "--tokens", "4", "--json"]);
    expect(r.status, r.stderr).toBe(0);
    const { figures } = JSON.parse(r.stdout);
    expect(figures.map((f: { numRanks: number }) => f.numRanks)).toEqual([1, 2]);
    expect(figures[0].allReducesPerStep).toBe(0);
    expect(figures[1].allReducesPerStep).toBe(4); // 2 layers × (o_proj + down_proj)
    for (const f of figures) expect(f.medianMs).toBeGreaterThan(0);
    const text = gust([...bench, "--tokens", "2"]);
    expect(text.stdout).toMatch(/TP {2}1: median .* ms .*\nTP {2}2: median .* ms .* all-reduce .*% of the step/);
  });
});
