/** Event-loop stall monitor, sampled on activity. When the gateway takes on work (a request arrives, frames come in
 * from the runtime) it calls `mark()`; the first mark since the last observation notes the time and schedules an
 * immediate callback, which runs once the current loop turn is over. Its delay is how long work that became ready
 * then waited for the loop: our own synchronous work, a GC pause, the other callbacks of that turn, or the OS not
 * running the process. Every stream in flight was stalled by at least that much.
 *
 * Why not a probe timer (one that should fire every 25 ms, observing how late it fires): each timer expiry wakes the
 * sleeping loop from the kernel's timer interrupt, and on a virtual machine that wakeup can spin in the kernel for
 * milliseconds when the woken thread runs on another vCPU than the one finishing the timer interrupt (perf on the
 * 2-vCPU development VM: `hrtimer_cancel` under `epoll_pwait2`, 2–15 ms at a time, 13–18 times in a 2000-request
 * bench run with the 25 ms probe, 0–2 with a 1 s one, 0–1 with this monitor). The probe caused the stalls it was there
 * to see. An immediate callback needs no timer: the loop polls without a timeout while one is pending. An idle loop
 * is not sampled, and nothing waits on an idle loop.
 *
 * Worked example: a request arrives at t=1000 (mark: noted 1000, immediate scheduled), the handler and an eden
 * collection run until t=1006, the immediate runs at t=1006 → lag 6 ms is observed. Marks at t=1002 and t=1004 (frames
 * from the runtime in the same turn) add nothing: one observation per turn. The next mark after t=1006 starts again. */
import { setImmediate } from "node:timers";
import type { Clock } from "../../functions/http/clock.ts";

export interface LagSink {
  observe(lagSeconds: number): void;
}

/** What the request path and the runtime client call when they take on work. */
export interface LoopMarker {
  mark(): void;
}

export class LoopLagMonitor implements LoopMarker {
  #markedAt: number | null = null;
  #maxMs = 0;
  #stopped = false;

  constructor(
    private readonly sink: LagSink,
    private readonly clock: Clock,
    private readonly schedule: (fn: () => void) => unknown = setImmediate,
  ) {}

  /** Worst lag seen since start, in milliseconds. */
  get maxMs(): number {
    return this.#maxMs;
  }

  mark(): void {
    if (this.#markedAt !== null || this.#stopped) return;
    this.#markedAt = this.clock.now();
    this.schedule(this.#observe);
  }

  readonly #observe = (): void => {
    const lagMs = Math.max(0, this.clock.now() - this.#markedAt!);
    this.#markedAt = null;
    if (this.#stopped) return;
    if (lagMs > this.#maxMs) this.#maxMs = lagMs;
    this.sink.observe(lagMs / 1000);
  };

  /** No more observations (a mark already scheduled is dropped). */
  stop(): void {
    this.#stopped = true;
  }
}
