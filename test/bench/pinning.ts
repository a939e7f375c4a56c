// CPU placement for the gateway benches (Linux taskset): the gateway gets a core of its own, as a deployment gives it,
// on a VM with few cores.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { V8_WORKER_THREAD_NAME } from "../../edge/helper-threads.ts";

/** Pins every thread of process `pid` to one CPU. */
export const pinTo = (cpu: number, pid: number) => execFileSync("taskset", ["-a", "-cp", String(cpu), String(pid)]);

/** Thread ids of V8's helper threads ("V8 DefaultWorker") in process `pid`. */
const v8HelperThreadIds = (pid: number): number[] =>
  readdirSync(`/proc/${pid}/task`).filter((tid) =>
    readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim() === V8_WORKER_THREAD_NAME
  ).map(Number);

/** Moves V8's helper threads of process `pid` to `cpu` (after pinTo put the whole process elsewhere): concurrent
 * marking and parallel collection work then has a core the event loop is not on, as on a host with idle cores.
 * V8 starts its workers with the platform, so they all exist once the gateway is serving. Returns how many moved. */
export function pinV8HelpersTo(cpu: number, pid: number): number {
  const ids = v8HelperThreadIds(pid);
  for (const tid of ids) execFileSync("taskset", ["-cp", String(cpu), String(tid)]);
  return ids.length;
}
