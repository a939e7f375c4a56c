// The latency bench's reading of `perf sched timehist --state` (test/bench/sched-trace.ts): which stretches the
// gateway's loop spent ready but not running, and who ran then.
import { describe, expect, it } from "vitest";
import { heldOff, parseTimehist } from "../bench/sched-trace.ts";

// time (switch-out), cpu, task[tid/pid], wait, sch delay, run (ms), state at switch-out
const TIMEHIST = `           time    cpu  task name                       wait time  sch delay   run time  state
                        [tid/pid]                          (msec)     (msec)     (msec)
--------------- ------  ------------------------------  ---------  ---------  ---------  -----
      10.000000 [0001]  deno[7]                             0.000      0.000      1.000      R
      10.003000 [0001]  V8 DefaultWorke[8/7]               50.000      0.010      3.000      S
      10.004000 [0001]  kworker/1:1-mm_[99]                 0.000      0.000      1.000      S
      10.005000 [0001]  deno[7]                             4.000      0.000      1.000      S
      10.020000 [0001]  V8 DefaultWorke[8/7]                2.000      0.000      2.000      R
      10.021000 [0001]  deno[7]                            15.000      2.000      1.000      S
`;

/** thread name → ms, rounded off float noise */
const ranMs = (ran: Map<string, number>) => Object.fromEntries([...ran].map(([n, t]) => [n, Number(t.toFixed(6))]));

describe("perf sched timehist", () => {
  const runs = parseTimehist(TIMEHIST);

  it("reads every run with its thread id, name and state", () => {
    expect(runs.map((r) => [r.tid, r.name, r.state])).toEqual([
      [7, "deno", "R"],
      [8, "V8 DefaultWorke", "S"],
      [99, "kworker/1:1-mm_", "S"],
      [7, "deno", "S"],
      [8, "V8 DefaultWorke", "R"],
      [7, "deno", "S"],
    ]);
    expect(runs[1]).toMatchObject({ endS: 10.003, pid: 7, waitMs: 50, wakeDelayMs: 0.01, runMs: 3 });
    expect(runs[2].pid).toBe(99);
  });

  it("counts a preempted thread's whole wait and a woken thread's wakeup delay, with who ran", () => {
    const waits = heldOff(runs, 7);
    expect(waits).toHaveLength(2);
    // preempted at 10.000, back at 10.004: the helper's 3 ms and the kworker's 1 ms
    expect(waits[0].startS).toBeCloseTo(10.0, 9);
    expect(waits[0].ms).toBe(4);
    expect(ranMs(waits[0].ran)).toEqual({ "V8 DefaultWorke": 3, "kworker/1:1-mm_": 1 });
    expect(waits[0].ownMs).toBeCloseTo(3, 9); // the helper is deno's; the kworker is not
    // asleep after 10.005, woken 2 ms before running at 10.020: the helper ran those 2 ms; the 13 ms asleep are not counted
    expect(waits[1].ms).toBe(2);
    expect(ranMs(waits[1].ran)).toEqual({ "V8 DefaultWorke": 2 });
  });

  it("leaves out waits under the threshold", () => {
    expect(heldOff(runs, 7, 3)).toHaveLength(1);
    expect(heldOff(runs, 8)).toHaveLength(0); // the helper's own wakeup delay of 0.01 ms is under the default 0.05 ms
  });
});
