// How long OpenMP worker threads busy-wait for the next parallel region before they sleep.
// libgomp reads this once, from the C environment, when it loads (with libgust_cpu.so). Its default spins ~300k
// times after every region, 10–40 ms on the machines measured; the runtime's decode steps come back to back, but
// between requests that is a core burnt for nothing. Measured on the 2-vCPU development VM, 1000 sequential
// one-token requests through the gateway: the runtime's second OpenMP thread used 2.9 s of CPU by default and 0.85 s
// with GOMP_SPINCOUNT=10000, and the requests that waited > 5 ms for the gateway were the ones during which the
// runtime's spinning held the CPU the gateway needed. `gust bench` decode throughput did not move beyond run-to-run
// noise. An operator's own OMP_WAIT_POLICY or GOMP_SPINCOUNT is left alone.
import { dlopen, FFIType } from "bun:ffi";

/** Spins before sleeping: ~0.5 ms of `pause` on a 2–3 GHz x86 core, longer than the gap between a step's kernels. */
export const DEFAULT_GOMP_SPINCOUNT = "10000";

/** The variables to set before libgomp loads, given the environment the operator started the process with. */
export function ompWaitDefaults(env: Record<string, string | undefined>): Record<string, string> {
  if (env.OMP_WAIT_POLICY !== undefined || env.GOMP_SPINCOUNT !== undefined) return {};
  return { GOMP_SPINCOUNT: DEFAULT_GOMP_SPINCOUNT };
}

let applied = false;

/** Writes ompWaitDefaults into the C environment (Bun's process.env does not reach getenv() in native code).
 * Must run before the first dlopen of libgust_cpu.so; later calls do nothing. */
export function applyOmpWaitDefaults(env: Record<string, string | undefined> = process.env): void {
  if (applied) return;
  applied = true;
  const entries = Object.entries(ompWaitDefaults(env));
  if (entries.length === 0 || process.platform !== "linux") return;
  const libc = dlopen("libc.so.6", {
    setenv: { args: [FFIType.cstring, FFIType.cstring, FFIType.i32], returns: FFIType.i32 },
  });
  try {
    for (const [name, value] of entries) libc.symbols.setenv(Buffer.from(`${name}\0`), Buffer.from(`${value}\0`), 0);
  } finally {
    libc.close();
  }
}
