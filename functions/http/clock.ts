/** Time for the gateway: one seam so deadlines, keep-alives and latency metrics can be driven by a manual clock in
 * tests (no test waits on real time) while production uses the platform timers. */

export type TimerHandle = unknown;

export interface Clock {
  /** Milliseconds since the Unix epoch, sub-millisecond where the platform has it. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const systemClock: Clock = {
  // timeOrigin + now() is monotonic within a process and still readable as a date (for `created`)
  now: () => performance.timeOrigin + performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** A background timer must not keep a process alive on its own: Bun/Node timers have unref(), Deno has
 * Deno.unrefTimer. */
export function unrefTimer(timer: ReturnType<typeof setTimeout> | ReturnType<typeof setInterval>): void {
  const t = timer as unknown as { unref?: () => void };
  if (typeof t.unref === "function") t.unref();
  else {
    const deno = (globalThis as { Deno?: { unrefTimer(id: number): void } }).Deno;
    if (deno && typeof timer === "number") deno.unrefTimer(timer);
  }
}
