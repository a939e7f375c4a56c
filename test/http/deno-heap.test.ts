import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DENO_GATEWAY_V8_FLAG, denoGatewayV8Flag, denoHeapNote, MAX_SEMI_SPACE_MIB } from "../../edge/deno-heap.ts";
import { denoBin } from "../helpers/processes.ts";

describe("the Deno gateway's V8 heap setting", () => {
  it("names the heap settings on the command line and the recommended ones for the --gc-threads mode", () => {
    const normal = denoGatewayV8Flag("normal");
    const idle = denoGatewayV8Flag("idle");
    expect(normal).toBe(
      "--v8-flags=--max-semi-space-size=2,--no-incremental-marking-task,--no-compaction-on-regular-gcs",
    );
    expect(idle).toBe("--v8-flags=--max-semi-space-size=2");
    expect(DENO_GATEWAY_V8_FLAG).toBe(normal);
    const cmd = (...flags: string[]) => ["deno", "run", "-A", ...flags, "edge/main-deno.ts"];
    expect(denoHeapNote(cmd(normal))).toBe(
      "young generation capped at 2 MiB per semi-space, marking off the event loop",
    );
    expect(denoHeapNote(cmd(idle), "idle")).toBe(
      "young generation capped at 2 MiB per semi-space, marking on the event loop",
    );
    // the other mode's flags: each names the right ones and why
    expect(denoHeapNote(cmd(idle), "normal")).toBe(
      `young generation capped at 2 MiB per semi-space, marking on the event loop; deno run ${normal} (shorter collections)`,
    );
    expect(denoHeapNote(cmd(normal), "idle")).toBe(
      `young generation capped at 2 MiB per semi-space, marking off the event loop; deno run ${idle} (with --gc-threads idle the markers cannot keep up off the loop)`,
    );
    expect(denoHeapNote(cmd())).toBe(
      `V8's default young generation, marking on the event loop; deno run ${normal} (shorter collections)`,
    );
    // compaction under load still in the pause
    expect(denoHeapNote(cmd("--v8-flags=--max-semi-space-size=2,--no-incremental-marking-task"))).toMatch(
      /marking off the event loop; deno run/,
    );
    // V8 takes the last value, in either spelling, among other flags; a script argument is not a V8 flag
    expect(
      denoHeapNote(
        cmd(
          "--v8-flags=--max_semi_space_size=8,--trace-gc,--max-semi-space-size=2",
          "--v8-flags=--no_incremental_marking_task,--no-compaction-on-regular-gcs",
        ),
      ),
    ).toBe("young generation capped at 2 MiB per semi-space, marking off the event loop");
    expect(denoHeapNote(cmd(normal, "--v8-flags=--incremental-marking-task"))).toMatch(
      /marking on the event loop; deno run/,
    );
    expect(denoHeapNote(cmd("--v8-flags=--max-semi-space-size=8"), "idle")).toMatch(
      /^young generation capped at 8 MiB per semi-space, marking on the event loop; deno run --v8-flags=--max-semi-space-size=2 /,
    );
    expect(denoHeapNote(["deno", "main.ts", "--max-semi-space-size=2"])).toMatch(/^V8's default young generation/);
    expect(denoHeapNote(null)).toMatch(/^V8 heap settings unknown/);
  });

  it("takes full-collection marking off V8's tasks only with the normal mode's flags", () => {
    // the old generation grows past V8's first limit while the script yields to the event loop, as a server does;
    // --trace-incremental-marking names each step's origin and each run of V8's marking task
    const script = join(mkdtempSync(join(tmpdir(), "gust-deno-marking-")), "grow.js");
    writeFileSync(
      script,
      `const keep = [];
for (let round = 0; round < 400; round++) {
  for (let i = 0; i < 2000; i++) keep.push({ round, i, s: "x" + i });
  if (keep.length > 300000) keep.splice(0, 100000);
  await new Promise((r) => setTimeout(r, 0));
}`,
    );
    const taskRuns = (v8Flag: string) => {
      const r = spawnSync(denoBin, ["run", "-A", `${v8Flag},--trace-incremental-marking`, script], {
        encoding: "utf8",
      });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/\[IncrementalMarking\] Start/);
      return (r.stdout.match(/Job: Run|origin: task/g) ?? []).length;
    };
    expect(taskRuns(denoGatewayV8Flag("idle"))).toBeGreaterThan(0);
    expect(taskRuns(denoGatewayV8Flag("normal"))).toBe(0);
  });

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
