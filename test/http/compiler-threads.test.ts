// The gateway lowers the priority of JavaScriptCore's compiler threads (edge/compiler-threads.ts).
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { COMPILER_THREAD_NICE, CompilerThreadPriority, type ThreadTable } from "../../edge/compiler-threads.ts";
import { repoRoot } from "../helpers/fixtures.ts";
import { bunBin } from "../helpers/processes.ts";

function fakeTable(threads: Array<[number, string]>, failOn: number[] = []) {
  const niced: Array<[number, number]> = [];
  const table: ThreadTable = {
    list: () => threads,
    setNice: (tid, nice) => {
      if (failOn.includes(tid)) throw new Error("ESRCH");
      niced.push([tid, nice]);
    },
  };
  return { table, niced };
}

describe("CompilerThreadPriority.scan", () => {
  it("renices compiler threads only, each once", () => {
    const threads: Array<[number, string]> = [[100, "bun"], [101, "JITWorker"], [102, "HeapHelper"], [103, "JITWorker"]];
    const { table, niced } = fakeTable(threads);
    const p = new CompilerThreadPriority(table);
    expect(p.scan()).toBe(2);
    expect(niced).toEqual([[101, COMPILER_THREAD_NICE], [103, COMPILER_THREAD_NICE]]);
    threads.push([104, "JITWorker"]);
    expect(p.scan()).toBe(1);
    expect(niced.map(([tid]) => tid)).toEqual([101, 103, 104]);
  });

  it("skips a thread that cannot be reniced and does not retry it", () => {
    const { table, niced } = fakeTable([[7, "JITWorker"], [8, "JITWorker"]], [7]);
    const p = new CompilerThreadPriority(table);
    expect(p.scan()).toBe(1);
    expect(p.scan()).toBe(0);
    expect(niced).toEqual([[8, COMPILER_THREAD_NICE]]);
  });

  it("does nothing where the thread list cannot be read", () => {
    const p = new CompilerThreadPriority({ list: () => { throw new Error("no /proc"); }, setNice: () => { throw new Error("unreachable"); } });
    expect(p.scan()).toBe(0);
  });
});

// A real Bun process: heat a function until JavaScriptCore compiles it on a JITWorker thread, start the monitor,
// and read every thread's nice value back from /proc (field 19 of /proc/self/task/TID/stat).
describe.runIf(process.platform === "linux")("in a Bun process", () => {
  it("leaves JITWorker threads at nice 19 and every other thread as it was", () => {
    const script = `
      import { readdirSync, readFileSync } from "node:fs";
      import { CompilerThreadPriority } from ${JSON.stringify(join(repoRoot, "edge/compiler-threads.ts"))};
      let acc = 0;
      const hot = (i: number) => (i * 31) ^ (acc >>> 3);
      for (let i = 0; i < 3e6; i++) acc = hot(i);
      new CompilerThreadPriority().start().stop();
      const rows = readdirSync("/proc/self/task").map((tid) => {
        const stat = readFileSync("/proc/self/task/" + tid + "/stat", "utf8");
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        return [readFileSync("/proc/self/task/" + tid + "/comm", "utf8").trim(), Number(fields[16])];
      });
      console.log(JSON.stringify({ rows, acc }));`;
    // a file, not \`bun -e\`: code run with -e was never handed to the compiler threads here
    const file = join(mkdtempSync(join(tmpdir(), "gust-jit-")), "heat.ts");
    writeFileSync(file, script);
    const { rows } = JSON.parse(execFileSync(bunBin, [file], { encoding: "utf8" })) as { rows: Array<[string, number]> };
    const compilers = rows.filter(([name]) => name === "JITWorker");
    expect(compilers.length).toBeGreaterThan(0);
    for (const [, nice] of compilers) expect(nice).toBe(COMPILER_THREAD_NICE);
    // the process's own niceness (a CI runner may start it above 0) is untouched on every other thread
    const mainNice = rows[0][1];
    for (const [, nice] of rows.filter(([name]) => name !== "JITWorker")) expect(nice).toBe(mainNice);
  });
});
