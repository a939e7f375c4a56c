// The gateway lowers its engine's helper threads (edge/helper-threads.ts): JavaScriptCore's compiler threads to
// nice 19 always, V8's workers to SCHED_IDLE with --gc-threads idle (edge/sched-idle.ts).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  COMPILER_THREAD_NICE,
  HelperThreadPriority,
  helperThreadRules,
  type ThreadTable,
  V8_WORKER_THREAD_NAME,
} from "../../edge/helper-threads.ts";
import { bindSchedIdle } from "../../edge/sched-idle.ts";
import { repoRoot } from "../helpers/fixtures.ts";
import { bunBin, denoBin, startDenoGateway, tempSocket } from "../helpers/processes.ts";

function fakeTable(threads: Array<[number, string]>, failOn: number[] = []) {
  const changes: Array<[number, number | "idle"]> = [];
  const table: ThreadTable = {
    list: () => threads,
    setNice: (tid, nice) => {
      if (failOn.includes(tid)) throw new Error("ESRCH");
      changes.push([tid, nice]);
    },
  };
  const setIdle = (tid: number) => {
    if (failOn.includes(tid)) throw new Error("ESRCH");
    changes.push([tid, "idle"]);
  };
  return { table, changes, setIdle };
}

describe("HelperThreadPriority.scan", () => {
  it("renices compiler threads only, each once", () => {
    const threads: Array<[number, string]> = [
      [100, "bun"],
      [101, "JITWorker"],
      [102, "HeapHelper"],
      [103, "JITWorker"],
      [105, V8_WORKER_THREAD_NAME],
    ];
    const { table, changes } = fakeTable(threads);
    const p = new HelperThreadPriority(helperThreadRules(table), table);
    expect(p.scan()).toBe(2);
    expect(changes).toEqual([[101, COMPILER_THREAD_NICE], [103, COMPILER_THREAD_NICE]]);
    threads.push([104, "JITWorker"]);
    expect(p.scan()).toBe(1);
    expect(changes.map(([tid]) => tid)).toEqual([101, 103, 104]);
  });

  it("puts V8's workers under SCHED_IDLE only when given the binding, each once", () => {
    const threads: Array<[number, string]> = [[200, "deno"], [201, V8_WORKER_THREAD_NAME], [202, "tokio-runtime-w"], [
      203,
      V8_WORKER_THREAD_NAME,
    ]];
    const { table, changes, setIdle } = fakeTable(threads);
    const p = new HelperThreadPriority(helperThreadRules(table, setIdle), table);
    expect(p.scan()).toBe(2);
    threads.push([204, V8_WORKER_THREAD_NAME], [205, "JITWorker"]);
    expect(p.scan()).toBe(2);
    expect(changes).toEqual([[201, "idle"], [203, "idle"], [204, "idle"], [205, COMPILER_THREAD_NICE]]);
  });

  it("skips a thread that cannot be changed and does not retry it", () => {
    const { table, changes } = fakeTable([[7, "JITWorker"], [8, "JITWorker"]], [7]);
    const p = new HelperThreadPriority(helperThreadRules(table), table);
    expect(p.scan()).toBe(1);
    expect(p.scan()).toBe(0);
    expect(changes).toEqual([[8, COMPILER_THREAD_NICE]]);
  });

  it("does nothing where the thread list cannot be read", () => {
    const p = new HelperThreadPriority([], {
      list: () => {
        throw new Error("no /proc");
      },
    });
    expect(p.scan()).toBe(0);
  });
});

/** [name, nice, scheduling policy, thread id] of each thread of process `pid` ("self" from inside it), main thread
 * first: fields 19 and 41 of /proc/PID/task/TID/stat (counted from 1; the name in parentheses is field 2, so after
 * ") " field N is at N - 3). Read here for the gateway and, as source text, inside the child scripts; `fs` is passed in
 * so the function's text names nothing from this module. */
function threadRows(
  pid: number | string,
  fs: { readdirSync(path: string): string[]; readFileSync(path: string, enc: "utf8"): string },
) {
  return fs.readdirSync(`/proc/${pid}/task`).sort((a, b) => Number(a) - Number(b)).map((tid) => {
    const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return [
      fs.readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim(),
      Number(fields[16]),
      Number(fields[38]),
      Number(tid),
    ] as [string, number, number, number];
  });
}
const READ_THREADS = `const rows = (${threadRows.toString()})("self", { readdirSync, readFileSync });`;
const SCHED_OTHER = 0, SCHED_IDLE = 5;

function runScript(bin: string, args: string[], name: string, script: string): ReturnType<typeof threadRows> {
  // a file, not \`bun -e\`: code run with -e was never handed to the compiler threads here
  const file = join(mkdtempSync(join(tmpdir(), "gust-threads-")), name);
  writeFileSync(file, script);
  return (JSON.parse(execFileSync(bin, [...args, file], { encoding: "utf8" })) as {
    rows: ReturnType<typeof threadRows>;
  }).rows;
}

describe.runIf(process.platform === "linux")("in real processes", () => {
  it("Bun: leaves JITWorker threads at nice 19 and every other thread as it was", () => {
    const rows = runScript(
      bunBin,
      [],
      "heat.ts",
      `
      import { readdirSync, readFileSync } from "node:fs";
      import { HelperThreadPriority } from ${JSON.stringify(join(repoRoot, "edge/helper-threads.ts"))};
      let acc = 0;
      const hot = (i: number) => (i * 31) ^ (acc >>> 3);
      for (let i = 0; i < 3e6; i++) acc = hot(i);
      new HelperThreadPriority().start().stop();
      ${READ_THREADS}
      console.log(JSON.stringify({ rows, acc }));`,
    );
    const compilers = rows.filter(([name]) => name === "JITWorker");
    expect(compilers.length).toBeGreaterThan(0);
    for (const [, nice] of compilers) expect(nice).toBe(COMPILER_THREAD_NICE);
    // the process's own niceness (a CI runner may start it above 0) is untouched on every other thread
    const mainNice = rows[0][1];
    for (const [, nice] of rows.filter(([name]) => name !== "JITWorker")) expect(nice).toBe(mainNice);
  });

  it("Deno: SCHED_IDLE on V8's workers only, through the real FFI binding", () => {
    const rows = runScript(
      denoBin,
      ["run", "-A"],
      "idle.ts",
      `
      import { readdirSync, readFileSync } from "node:fs";
      import { helperThreadRules, HelperThreadPriority, linuxThreads } from ${
        JSON.stringify(join(repoRoot, "edge/helper-threads.ts"))
      };
      import { bindSchedIdle } from ${JSON.stringify(join(repoRoot, "edge/sched-idle.ts"))};
      const changed = new HelperThreadPriority(helperThreadRules(linuxThreads, bindSchedIdle())).scan();
      ${READ_THREADS}
      console.log(JSON.stringify({ rows, changed }));`,
    );
    const workers = rows.filter(([name]) => name === V8_WORKER_THREAD_NAME);
    expect(workers.length).toBeGreaterThan(0);
    for (const [, , policy] of workers) expect(policy).toBe(SCHED_IDLE);
    for (const [, , policy] of rows.filter(([name]) => name !== V8_WORKER_THREAD_NAME)) {
      expect(policy).toBe(SCHED_OTHER);
    }
  });

  it("the Deno gateway with --gc-threads idle: its V8 workers under SCHED_IDLE, its event loop not, and it serves", async () => {
    const state = mkdtempSync(join(tmpdir(), "gust-gcthreads-"));
    // no runtime behind it: the gateway starts anyway and says so; /health needs none
    const gw = await startDenoGateway([
      "--runtime",
      tempSocket("absent"),
      "--port",
      "0",
      "--state-dir",
      state,
      "--gc-threads",
      "idle",
    ]);
    try {
      expect(gw.output()).toMatch(/V8's collector helper threads under SCHED_IDLE/);
      const pid = gw.proc.pid!;
      const threads = threadRows(pid, { readdirSync, readFileSync });
      expect(threads.filter(([name]) => name === V8_WORKER_THREAD_NAME).map(([, , p]) => p)).not.toContain(SCHED_OTHER);
      expect(threads.filter(([name]) => name === V8_WORKER_THREAD_NAME).length).toBeGreaterThan(0);
      expect(threads.find(([, , , tid]) => tid === pid)![2]).toBe(SCHED_OTHER);
      const url = /gateway on (http:\/\/\S+)/.exec(gw.output())![1];
      expect((await fetch(`${url}/health`)).status).toBe(200);
    } finally {
      await gw.stop();
    }
  });

  it("Deno without --allow-ffi: the binding refuses with what to do", () => {
    const file = join(mkdtempSync(join(tmpdir(), "gust-threads-")), "noffi.ts");
    writeFileSync(
      file,
      `import { bindSchedIdle } from ${JSON.stringify(join(repoRoot, "edge/sched-idle.ts"))};
      try { bindSchedIdle(); console.log("bound"); } catch (err) { console.log((err as Error).message); }`,
    );
    const out = execFileSync(denoBin, ["run", "--allow-read", file], { encoding: "utf8" });
    expect(out).toMatch(/--allow-ffi/);
  });
});

describe("bindSchedIdle", () => {
  it("says it needs Deno when run elsewhere", () => {
    expect(() => bindSchedIdle()).toThrow(/this is not Deno/);
  });
});
