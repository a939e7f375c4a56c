import { describe, expect, it } from "vitest";
import { EDEN_BUDGET_ENV, GATEWAY_BUN_ENV, GC_TIMER_OFF_ENV, gcSettingsNote } from "../../edge/bun-heap.ts";
import { bunBin } from "../helpers/processes.ts";
import { spawnSync } from "node:child_process";

describe("the Bun gateway's GC settings", () => {
  it("names the settings in force and how to get the recommended ones", () => {
    expect(gcSettingsNote({})).toBe(
      `young-generation GC budget 8 MiB (Bun's default); ${EDEN_BUDGET_ENV}=33554432 (32 MiB) collects 4× less often under load; ` +
        `Bun's GC timer on; ${GC_TIMER_OFF_ENV}=1 keeps its full collections out of requests`,
    );
    expect(gcSettingsNote({ ...GATEWAY_BUN_ENV })).toBe("young-generation GC budget 32 MiB; Bun's GC timer off");
    // Bun turns the timer off when the variable exists at all, "0" included
    expect(gcSettingsNote({ [EDEN_BUDGET_ENV]: "16777216", [GC_TIMER_OFF_ENV]: "0" })).toMatch(
      /^young-generation GC budget 16 MiB; .*=33554432 .*; Bun's GC timer off$/,
    );
    expect(gcSettingsNote({ [EDEN_BUDGET_ENV]: "lots" })).toMatch(
      new RegExp(`^${EDEN_BUDGET_ENV}="lots" is not a byte count; set ${EDEN_BUDGET_ENV}=33554432; Bun's GC timer on`),
    );
  });

  it("is the allowance JavaScriptCore really uses between collections when set in the environment", () => {
    // JSC logs "bytes allowed: N" when the allocation count triggers a collection
    const script = "let keep; for (let i = 0; i < 3e6; i++) keep = { i, s: 'x' + i };";
    const run = (env: Record<string, string>) => {
      const r = spawnSync(bunBin, ["-e", script], {
        env: { ...process.env, BUN_JSC_logGC: "1", ...env },
        encoding: "utf8",
      });
      return Number(/bytes allowed: (\d+)/.exec(r.stderr + r.stdout)?.[1]);
    };
    expect(run({ ...GATEWAY_BUN_ENV })).toBe(32 * 2 ** 20);
    expect(run({})).toBe(8 * 2 ** 20);
  });
});
