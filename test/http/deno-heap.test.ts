import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DENO_GATEWAY_V8_FLAG, MAX_SEMI_SPACE_MIB } from "../../edge/deno-heap.ts";
import { denoBin } from "../helpers/processes.ts";

describe("the Deno gateway's V8 heap setting", () => {
  it("is the young generation V8 really keeps when passed on Deno's command line", () => {
    // allocate steadily, as a serving gateway does; V8 grows new space while the allocation rate stays high
    const script = join(mkdtempSync(join(tmpdir(), "gust-deno-heap-")), "alloc.js");
    writeFileSync(
      script,
      `import v8 from "node:v8";
let keep = []; for (let i = 0; i < 3e6; i++) { keep.push({ i, s: "x" + i }); if (keep.length > 20000) keep = []; }
console.log(v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space").space_size);`,
    );
    const newSpaceMiB = (flags: string[]) => {
      const r = spawnSync(denoBin, ["run", "-A", ...flags, script], { encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
      return Number(r.stdout.trim()) / 2 ** 20;
    };
    // two semi-spaces and V8's page rounding: 3.5–4 MiB, once 6.25 MiB in a full suite run on 2 vCPUs; without the
    // flag 28–48 MiB, so the bound leaves room for that and still tells the two apart
    expect(newSpaceMiB([DENO_GATEWAY_V8_FLAG])).toBeLessThanOrEqual(3 * MAX_SEMI_SPACE_MIB + 1);
    expect(newSpaceMiB([])).toBeGreaterThan(4 * MAX_SEMI_SPACE_MIB);
  });
});
