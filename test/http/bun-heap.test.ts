import { describe, expect, it } from "vitest";
import { EDEN_BUDGET_ENV, GATEWAY_BUN_ENV, edenBudgetNote } from "../../edge/bun-heap.ts";
import { bunBin } from "../helpers/processes.ts";
import { spawnSync } from "node:child_process";

describe("the Bun gateway's young-generation budget", () => {
  it("names the budget in force and how to get the recommended one", () => {
    expect(edenBudgetNote({})).toBe(`young-generation GC budget 8 MiB (Bun's default); ${EDEN_BUDGET_ENV}=33554432 (32 MiB) collects 4× less often under load`);
    expect(edenBudgetNote({ ...GATEWAY_BUN_ENV })).toBe("young-generation GC budget 32 MiB");
    expect(edenBudgetNote({ [EDEN_BUDGET_ENV]: "16777216" })).toMatch(/^young-generation GC budget 16 MiB; .*=33554432/);
    expect(edenBudgetNote({ [EDEN_BUDGET_ENV]: "lots" })).toBe(`${EDEN_BUDGET_ENV}="lots" is not a byte count; set ${EDEN_BUDGET_ENV}=33554432`);
  });

  it("is the allowance JavaScriptCore really uses between collections when set in the environment", () => {
    // JSC logs "bytes allowed: N" when the allocation count triggers a collection
    const script = "let keep; for (let i = 0; i < 3e6; i++) keep = { i, s: 'x' + i };";
    const run = (env: Record<string, string>) => {
      const r = spawnSync(bunBin, ["-e", script], { env: { ...process.env, BUN_JSC_logGC: "1", ...env }, encoding: "utf8" });
      return Number(/bytes allowed: (\d+)/.exec(r.stderr + r.stdout)?.[1]);
    };
    expect(run({ ...GATEWAY_BUN_ENV })).toBe(32 * 2 ** 20);
    expect(run({})).toBe(8 * 2 ** 20);
  });
});
