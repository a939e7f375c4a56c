/** Keeps the JavaScript engine's helper threads off the event loop's CPU when CPUs are scarce.
 *
 * Compilers (Bun). JavaScriptCore compiles hot functions on background "JITWorker" threads, and its top tier keeps
 * doing so for tens of thousands of requests after start (each function reaches it at its own pace), 10–70 ms of CPU
 * per compile on the 2-vCPU development VM. Where the gateway shares its cores with the runtime and other processes,
 * such a compile takes the CPU the event loop needs: in a 1000-request benchmark most of the requests that waited
 * > 5 ms for the gateway had a compile running beside them. At nice 19 a compiler thread gets a CPU only when
 * nothing at normal priority wants it, so the event loop and the runtime always go first; on a host with idle cores
 * it compiles exactly as before. Linux only (a thread's nice value is per thread there).
 *
 * Collector helpers (Deno), only with `--gc-threads idle`. V8's "V8 DefaultWorker" threads do its concurrent
 * marking, sweeping and parallel scavenging, and on a core shared with the event loop they held it past 5 ms, a
 * scheduler slice at a time. Under SCHED_IDLE (./sched-idle.ts) the loop takes the core back the moment it wakes.
 * But a collection also waits for these threads, and SCHED_IDLE threads run only when nothing else wants the CPU,
 * so this is for a gateway whose cores are its own (pinned, nothing else placed there): where other processes fill
 * them, a scavenge can wait for seconds (edge/README.md has the measurements). A nice value does not help here:
 * lowered, they still held the loop up to 7 ms, and made the same kind of wait.
 *
 * Threads start when the engine first needs them, so the task list is read again every `rescanMs`
 * (a /proc directory of ~10 entries: microseconds). */
import { unrefTimer } from "./clock.ts";
import { files } from "./platform/files.ts";
import { denoNamespace, nodeBuiltin, platformOs } from "./platform/system.ts";
import type { SetIdlePolicy } from "./sched-idle.ts";

export const COMPILER_THREAD_NAME = "JITWorker";
export const COMPILER_THREAD_NICE = 19;
/** V8's platform workers, "V8 DefaultWorker" cut to the kernel's 15 characters. */
export const V8_WORKER_THREAD_NAME = "V8 DefaultWorke";

/** `normal`: V8's collector helpers run as V8 starts them; `idle`: under SCHED_IDLE (Deno, cores of its own). */
export type GcThreadsMode = "normal" | "idle";
export const GC_THREADS_MODES: readonly GcThreadsMode[] = ["normal", "idle"];

export interface ThreadTable {
  /** [thread id, name] of every thread of this process. */
  list(): Array<[number, string]>;
  setNice(threadId: number, nice: number): void;
}

export const linuxThreads: ThreadTable = {
  list: () =>
    files().listDir("/proc/self/task").map((
      tid,
    ) => [Number(tid), files().readText(`/proc/self/task/${tid}/comm`).trim()]),
  // setpriority(PRIO_PROCESS, tid) acts on that one thread on Linux; lowering a priority needs no privilege. Only
  // Bun's compiler threads get a nice value, and Deno has no setpriority outside its Node layer.
  setNice: (threadId, nice) => {
    if (denoNamespace()) throw new Error("thread nice values are set on Bun only");
    nodeBuiltin<{ setPriority(pid: number, priority: number): void }>("node:os").setPriority(threadId, nice);
  },
};

/** What to do to each thread with a given name. */
export interface ThreadRule {
  name: string;
  apply(threadId: number): void;
}

/** The gateway's rules: compiler threads at nice 19 always; V8's workers under SCHED_IDLE when `setIdle` is given
 * (bound by the caller with ./sched-idle.ts for `--gc-threads idle`). */
export function helperThreadRules(table: ThreadTable, setIdle: SetIdlePolicy | null = null): ThreadRule[] {
  const rules: ThreadRule[] = [{
    name: COMPILER_THREAD_NAME,
    apply: (tid) => table.setNice(tid, COMPILER_THREAD_NICE),
  }];
  if (setIdle) rules.push({ name: V8_WORKER_THREAD_NAME, apply: setIdle });
  return rules;
}

export class HelperThreadPriority {
  readonly #seen = new Set<number>();
  #timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly rules: ThreadRule[] = helperThreadRules(linuxThreads),
    private readonly threads: Pick<ThreadTable, "list"> = linuxThreads,
    private readonly rescanMs = 5_000,
  ) {}

  /** Applies the rules to threads not seen before; returns how many it changed. A thread that exits between listing
   * and the change is skipped; one that cannot be changed is not tried again. */
  scan(): number {
    let changed = 0;
    let threads: Array<[number, string]>;
    try {
      threads = this.threads.list();
    } catch {
      return 0; // no /proc: nothing to do here
    }
    for (const [tid, name] of threads) {
      const rule = this.rules.find((r) => r.name === name);
      if (!rule || this.#seen.has(tid)) continue;
      this.#seen.add(tid);
      try {
        rule.apply(tid);
        changed++;
      } catch {
        // gone already, or a sandbox that refuses it: the gateway works the same, only less shielded
      }
    }
    return changed;
  }

  start(): this {
    if (this.#timer || platformOs() !== "linux") return this;
    this.scan();
    this.#timer = setInterval(() => this.scan(), this.rescanMs);
    unrefTimer(this.#timer);
    return this;
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}
