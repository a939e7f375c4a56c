// Where a process's time went, from Linux /proc: CPU time and run-queue wait per thread (schedstat, in ns), and the
// hypervisor's steal for the whole machine. The gateway-latency bench reads these before and after each request to
// tell a stall of the gateway's own making (its threads were running) from one it suffered (it was waiting for a
// CPU, or the VM was not running at all).
import { readdirSync, readFileSync } from "node:fs";

export interface ThreadTimes {
  /** thread name ("bun", "JITWorker", "HeapHelper", …) → ns on a CPU, summed over threads of that name */
  runNs: Map<string, number>;
  /** ns the process's main thread (the event loop) was on a CPU */
  mainRunNs: number;
  /** ns the process's main thread was runnable but waiting for a CPU */
  mainWaitNs: number;
  /** page faults of the main thread so far (minor + major): each is kernel time charged to the event loop */
  mainFaults: number;
}

export function threadTimes(pid: number): ThreadTimes {
  const runNs = new Map<string, number>();
  let mainRunNs = 0;
  let mainWaitNs = 0;
  let mainFaults = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let name: string, fields: number[];
    try {
      name = readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim();
      fields = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ").map(Number);
    } catch {
      continue; // the thread exited between listing and reading
    }
    runNs.set(name, (runNs.get(name) ?? 0) + fields[0]);
    if (tid !== String(pid)) continue;
    [mainRunNs, mainWaitNs] = fields;
    // /proc/PID/task/TID/stat after the ") " that ends the thread name: state is [0], minflt [7], majflt [9]
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8").split(") ")[1].split(" ");
    mainFaults = Number(stat[7]) + Number(stat[9]);
  }
  return { runNs, mainRunNs, mainWaitNs, mainFaults };
}

/** Milliseconds each thread group ran between two readings (threads that ran less than `minMs` left out). */
export function ranBetween(a: ThreadTimes, b: ThreadTimes, minMs = 0): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, ns] of b.runNs) {
    const ms = (ns - (a.runNs.get(name) ?? 0)) / 1e6;
    if (ms >= minMs) out.set(name, ms);
  }
  return out;
}

/** The machine's steal time so far, in clock ticks (1/100 s): time the hypervisor ran something else. */
export function stealTicks(): number {
  return Number(readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/)[8]);
}

/** user+system CPU seconds of a process so far (/proc/PID/stat; clock ticks are 1/100 s). */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export const procAvailable = (pid: number): boolean => {
  try {
    threadTimes(pid);
    stealTicks();
    return true;
  } catch {
    return false;
  }
};
