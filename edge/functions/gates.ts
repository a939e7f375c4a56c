/** Concurrency of user functions, counted per function and apart from the built-in routes' slots, so one busy (or
 * stuck) function cannot take the chat routes' slots or another function's. A function's gate lives while it has
 * requests running or queued; an idle one is dropped, so the map never grows with names nobody calls. */
import type { Clock } from "../../functions/http/clock.ts";
import { Limiter } from "../middleware/concurrency.ts";

export interface GateDefaults {
  maxConcurrent: number;
  maxQueue: number;
  maxQueueWaitMs: number;
  retryAfterSeconds: number;
  clock: Clock;
}

export class FunctionGates {
  readonly #gates = new Map<string, Limiter>();
  constructor(readonly defaults: GateDefaults) {}

  /** Requests holding a slot, all functions together. */
  get running(): number {
    let n = 0;
    for (const g of this.#gates.values()) n += g.running;
    return n;
  }

  get waiting(): number {
    let n = 0;
    for (const g of this.#gates.values()) n += g.waiting;
    return n;
  }

  /** A slot of function `name`, at most `maxConcurrent` at once (its declared maxConcurrency, else the gateway's). */
  async acquire(name: string, maxConcurrent: number | undefined, signal?: AbortSignal): Promise<() => void> {
    const max = maxConcurrent ?? this.defaults.maxConcurrent;
    let gate = this.#gates.get(name);
    if (!gate) {
      gate = new Limiter({ ...this.defaults, maxConcurrent: max, scope: `function ${JSON.stringify(name)}` });
      this.#gates.set(name, gate);
    }
    gate.opts.maxConcurrent = max; // a redeploy may change it; requests already queued see the new bound
    let release: () => void;
    try {
      release = await gate.acquire(signal);
    } catch (err) {
      this.#dropIfIdle(name, gate);
      throw err;
    }
    return () => {
      release();
      this.#dropIfIdle(name, gate);
    };
  }

  #dropIfIdle(name: string, gate: Limiter): void {
    if (gate.running === 0 && gate.waiting === 0 && this.#gates.get(name) === gate) this.#gates.delete(name);
  }
}
