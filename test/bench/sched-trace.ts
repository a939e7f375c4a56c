// Who had the gateway's CPU while its event loop was ready to run, by the Linux scheduler's own tracepoints
// (perf's sched:sched_switch and sched:sched_wakeup on that CPU, read back with `perf sched timehist`). The guest's
// scheduler records these, so the hypervisor's steal is in none of them: a wait found here was given to another
// thread of this machine, and the thread's name says whose (V8's GC helpers, a kernel thread, another process).
// The latency bench uses it with --pin --sched, where the gateway has a CPU of its own. Needs `perf` and permission
// to trace scheduler events.
import { PerfRecord } from "./perf-record.ts";

/** One row of `perf sched timehist --state`: a run of `tid` on the CPU, ending at `endS`. */
export interface SchedRun {
  endS: number;
  tid: number;
  /** the thread's process (its thread-group id) */
  pid: number;
  name: string;
  /** ms from this thread's previous switch-out to this run's start (asleep, or ready but not picked) */
  waitMs: number;
  /** ms from its wakeup to this run's start: ready but not picked */
  wakeDelayMs: number;
  runMs: number;
  /** state it left the CPU in: "R" preempted (still ready), "S"/"D" asleep */
  state: string;
}

/** A stretch where the thread was ready to run while others had its CPU. */
export interface HeldOff {
  startS: number;
  ms: number;
  /** thread name → ms it ran inside the stretch */
  ran: Map<string, number>;
  /** ms of the stretch that threads of the waiting thread's own process ran */
  ownMs: number;
}

//    31369.405943 [0001]  deno[3979]                          0.000      0.000      0.018      S
//    31369.449196 [0001]  V8 DefaultWorke[3981/3979]         42.564      0.139      0.580      S
const ROW = /^\s*([\d.]+)\s+\[\d+\]\s+(.*?)\[(\d+)(?:\/(\d+))?\]\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+(\S+)\s*$/;

export function parseTimehist(text: string): SchedRun[] {
  const runs: SchedRun[] = [];
  for (const line of text.split("\n")) {
    const m = ROW.exec(line);
    // a process's main thread is written with its id alone: "deno[3979]"
    if (m) {
      runs.push({
        endS: Number(m[1]),
        name: m[2],
        tid: Number(m[3]),
        pid: Number(m[4] ?? m[3]),
        waitMs: Number(m[5]),
        wakeDelayMs: Number(m[6]),
        runMs: Number(m[7]),
        state: m[8],
      });
    }
  }
  return runs;
}

/** Stretches where `tid` was ready but not running, each with who ran meanwhile. A run that follows a preemption
 * (previous state R) waited its whole `waitMs` ready; one that follows a sleep waited `wakeDelayMs` of it.
 * Example: tid 7 leaves the CPU preempted at 10.000 s, a helper runs 10.000–10.004, tid 7 runs 10.004–10.005:
 * the row for tid 7's second run has endS 10.005, runMs 1, waitMs 4 → one stretch of 4 ms, starting at 10.000,
 * with the helper's 4 ms in it. */
export function heldOff(runs: SchedRun[], tid: number, minMs = 0.05): HeldOff[] {
  const out: HeldOff[] = [];
  let previousState: string | null = null;
  for (let i = 0; i < runs.length; i++) {
    const r = runs[i];
    if (r.tid !== tid) continue;
    const readyMs = previousState === "R" ? r.waitMs : r.wakeDelayMs;
    previousState = r.state;
    if (readyMs < minMs) continue;
    const endS = r.endS - r.runMs / 1000;
    const startS = endS - readyMs / 1000;
    const ran = new Map<string, number>();
    let ownMs = 0;
    for (let j = i - 1; j >= 0 && runs[j].endS > startS; j--) {
      const o = runs[j];
      const overlapMs = (Math.min(o.endS, endS) - Math.max(o.endS - o.runMs / 1000, startS)) * 1000;
      if (overlapMs <= 0) continue;
      ran.set(o.name, (ran.get(o.name) ?? 0) + overlapMs);
      if (o.pid === r.pid) ownMs += overlapMs;
    }
    out.push({ startS, ms: readyMs, ran, ownMs });
  }
  return out;
}

export class SchedTrace {
  private constructor(private readonly record: PerfRecord) {}

  /** Starts recording scheduler events on `cpu`; null when perf is not installed. */
  static start(cpu: number): SchedTrace | null {
    const events = ["sched:sched_switch", "sched:sched_wakeup", "sched:sched_wakeup_new", "sched:sched_migrate_task"]
      .flatMap((e) => ["-e", e]);
    const record = PerfRecord.start([...events, "-C", String(cpu)]);
    return record && new SchedTrace(record);
  }

  /** Stops recording and reads the runs back. */
  async stop(): Promise<SchedRun[]> {
    return parseTimehist(await this.record.stop(["sched", "timehist", "--state"]));
  }
}
