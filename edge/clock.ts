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
