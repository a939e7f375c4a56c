// The gateway's Deno entry and the text layer type-check under Deno itself (Bun's tsc cannot tell when a
// Bun-only API slips into code Deno loads).
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../helpers/fixtures.ts";
import { denoBin } from "../helpers/processes.ts";

describe("deno check", () => {
  it("edge/main-deno.ts and runtime/text type-check on Deno", () => {
    const r = spawnSync(denoBin, [
      "check",
      join(repoRoot, "edge/main-deno.ts"),
      join(repoRoot, "runtime/text/index.ts"),
    ], { cwd: repoRoot, encoding: "utf8" });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
  }, 120_000);
});
