/** Keeps the JavaScript engine's optimizing compiler off the event loop's CPU when CPUs are scarce.
 *
 * JavaScriptCore (Bun) compiles hot functions on background "JITWorker" threads, and its top tier keeps doing so
 * for tens of thousands of requests after start (each function reaches it at its own pace), 10–70 ms of CPU per
 * compile on the 2-vCPU development VM. Where the gateway shares its cores with the runtime and other processes,
 * such a compile takes the CPU the event loop needs: in a 1000-request benchmark most of the requests that waited
 * > 5 ms for the gateway had a compile running beside them. At nice 19 a compiler thread gets a CPU only when
 * nothing at normal priority wants it, so the event loop and the runtime always go first; on a host with idle cores
 * it compiles exactly as before. Linux only (a thread's nice value is per thread there). V8 (Deno) shares its worker
 * threads between compiling and garbage collection, and a collection waits for them, so its threads are left alone:
 * lowered, they made a 1.6 s scavenge pause where other processes kept the CPUs busy (edge/README.md).
 *
 * Threads start when the engine first needs them, so the task list is read again every `rescanMs`
 * (a /proc directory of ~10 entries: microseconds). */
import { readdirSync, readFileSync } from "node:fs";
import { setPriority } from "node:os";
import { unrefTimer } from "./clock.ts";

export const COMPILER_THREAD_NAME = "JITWorker";
export const COMPILER_THREAD_NICE = 19;

export interface ThreadTable {
  /** [thread id, name] of every thread of this process. */
  list(): Array<[number, string]>;
  setNice(threadId: number, nice: number): void;
}

export const linuxThreads: ThreadTable = {
  list: () => readdirSync("/proc/self/task").map((tid) => [Number(tid), readFileSync(`/proc/self/task/${tid}/comm`, "utf8").trim()]),
  // setpriority(PRIO_PROCESS, tid) acts on that one thread on Linux; lowering a priority needs no privilege
  setNice: (threadId, nice) => setPriority(threadId, nice),
};

export class CompilerThreadPriority {
  readonly #seen = new Set<number>();
  #timer: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly threads: ThreadTable = linuxThreads, private readonly rescanMs = 5_000) {}

  /** Lowers the priority of compiler threads not seen before; returns how many it changed. A thread that exits
   * between listing and renicing is skipped; one that cannot be reniced is not tried again. */
  scan(): number {
    let changed = 0;
    let threads: Array<[number, string]>;
    try {
      threads = this.threads.list();
    } catch {
      return 0; // no /proc: nothing to do here
    }
    for (const [tid, name] of threads) {
      if (name !== COMPILER_THREAD_NAME || this.#seen.has(tid)) continue;
      this.#seen.add(tid);
      try {
        this.threads.setNice(tid, COMPILER_THREAD_NICE);
        changed++;
      } catch {
        // gone already, or a sandbox without setpriority: the gateway works the same, only less shielded
      }
    }
    return changed;
  }

  start(): this {
    if (this.#timer || process.platform !== "linux") return this;
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
