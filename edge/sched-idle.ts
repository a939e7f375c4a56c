/** Puts one thread of this process under Linux's SCHED_IDLE policy, through libc's sched_setscheduler (Deno's FFI).
 *
 * Why SCHED_IDLE and not a nice value: a waking SCHED_NORMAL thread preempts a running SCHED_IDLE one at once,
 * while between two SCHED_NORMAL threads (any nice) the running one keeps its slice, up to the next scheduler tick
 * (4 ms at the usual HZ=250), and often a second one. That slice is what held the single-core Deno gateway's event
 * loop past 5 ms while V8's collector helpers ran (edge/README.md). An unprivileged process cannot take SCHED_IDLE
 * back (raising a policy needs CAP_SYS_NICE or RLIMIT_NICE), so it is set once and kept.
 *
 * Deno only: the gateway asks for it for V8's worker threads, which Bun does not have. */

const SCHED_IDLE = 5;
const LIBC = "libc.so.6";

interface DenoFfi {
  dlopen(
    path: string,
    symbols: Record<string, { parameters: string[]; result: string }>,
  ): { symbols: Record<string, (...args: unknown[]) => unknown> };
  UnsafePointerView: new (pointer: unknown) => { getInt32(): number };
  build: { os: string };
}

export type SetIdlePolicy = (threadId: number) => void;

/** Binds sched_setscheduler once; throws, saying what is missing, where it cannot (another runtime or OS, no
 * --allow-ffi, no glibc). The function it returns throws `sched_setscheduler(TID, SCHED_IDLE): errno N`. */
export function bindSchedIdle(): SetIdlePolicy {
  const deno = (globalThis as { Deno?: DenoFfi }).Deno;
  if (!deno) throw new Error("SCHED_IDLE threads are set through Deno's FFI; this is not Deno");
  if (deno.build.os !== "linux") throw new Error(`SCHED_IDLE is a Linux policy; this is ${deno.build.os}`);
  let lib: ReturnType<DenoFfi["dlopen"]>;
  try {
    lib = deno.dlopen(LIBC, {
      sched_setscheduler: { parameters: ["i32", "i32", "buffer"], result: "i32" },
      __errno_location: { parameters: [], result: "pointer" },
    });
  } catch (err) {
    throw new Error(
      `cannot load ${LIBC} through Deno's FFI (run with -A or --allow-ffi, on a glibc system): ${
        (err as Error).message
      }`,
    );
  }
  // struct sched_param { int sched_priority; }: 0 is the only priority SCHED_IDLE takes
  const param = new Int32Array(1);
  return (threadId) => {
    // on Linux a thread id names that one thread here, as setpriority's does
    if (lib.symbols.sched_setscheduler(threadId, SCHED_IDLE, param) !== 0) {
      const errno = new deno.UnsafePointerView(lib.symbols.__errno_location()).getInt32();
      throw new Error(`sched_setscheduler(${threadId}, SCHED_IDLE): errno ${errno}`);
    }
  };
}
