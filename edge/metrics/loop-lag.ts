/** Event-loop stall monitor: a timer that should fire every `intervalMs` records how late it fired. Lateness is
 * time the gateway's thread could not run callbacks (our own synchronous work, GC, or the OS not scheduling the
 * process), so every in-flight stream was stalled by at least that much. Written with timers rather than
 * node:perf_hooks' monitorEventLoopDelay because that is not available with the same meaning on Deno.
 *
 * Worked example, intervalMs 25: the timer was armed at t=1000 and fires at t=1031 → lag 6 ms is observed; a tick
 * at t=1026 → lag 1 ms. A 200 ms synchronous block yields one observation of ~175–200 ms, not eight small ones. */
import { unrefTimer, type Clock } from "../clock.ts";

export interface LagSink {
  observe(lagSeconds: number): void;
}

export class LoopLagMonitor {
  #timer: ReturnType<typeof setTimeout> | null = null;
  #maxMs = 0;

  constructor(private readonly sink: LagSink, private readonly clock: Clock, private readonly intervalMs = 25) {}

  /** Worst lag seen since start, in milliseconds. */
  get maxMs(): number {
    return this.#maxMs;
  }

  start(): this {
    if (this.#timer) return this;
    const arm = () => {
      const due = this.clock.now() + this.intervalMs;
      this.#timer = setTimeout(() => {
        const lagMs = Math.max(0, this.clock.now() - due);
        if (lagMs > this.#maxMs) this.#maxMs = lagMs;
        this.sink.observe(lagMs / 1000);
        if (this.#timer) arm();
      }, this.intervalMs);
      unrefTimer(this.#timer);
    };
    arm();
    return this;
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
