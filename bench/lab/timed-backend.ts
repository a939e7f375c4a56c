// A backend whose every method call is timed (wall and process CPU time, which counts all OpenMP threads) and
// summed under its name (linears by N × K), for the profiling benches. The CPU backend's calls are synchronous,
// so a call's time is its kernel's.
import type { Backend } from "../../ffi/backend.ts";

export interface CallTotals {
  calls: number;
  wallMs: number;
  cpuMs: number;
}

/** Process CPU time (user + system, all threads) in milliseconds. */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** `inner` with each call's time added to `totals` under the method's name (linear: name and N×K). */
export function timedBackend(inner: Backend, totals: Map<string, CallTotals>): Backend {
  return new Proxy(inner, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== "function" || typeof key !== "string") return value;
      return (...args: unknown[]) => {
        const name = key === "linear" ? `linear ${args[4]}×${args[5]}` : key;
        const wall = performance.now(), cpu = cpuMs();
        const result = value.apply(target, args);
        const entry = totals.get(name) ?? { calls: 0, wallMs: 0, cpuMs: 0 };
        entry.calls++, entry.wallMs += performance.now() - wall, entry.cpuMs += cpuMs() - cpu;
        totals.set(name, entry);
        return result;
      };
    },
  });
}
