/** Concurrency and queue limits: at most `maxConcurrent` requests run, at most `maxQueue` wait for a slot, and the
 * rest are refused at once with 429 and Retry-After (a fast refusal lets a load balancer go elsewhere). A slot is
 * held until the response body is over, so a long stream counts as running for its whole length. */
import type { MiddlewareHandler } from "hono";
import type { Clock } from "../../functions/http/clock.ts";
import type { GatewayEnv } from "../../functions/http/env.ts";
import { HttpError } from "../../functions/http/errors.ts";

export interface ConcurrencyOptions {
  maxConcurrent: number;
  maxQueue: number;
  /** A queued request gives up after this long (429). */
  maxQueueWaitMs: number;
  /** Value of Retry-After on 429s. */
  retryAfterSeconds: number;
  clock: Clock;
  /** Who is at the limit, for the 429's message. Default "the gateway". */
  scope?: string;
}

interface Waiter {
  grant: () => void;
  fail: (e: unknown) => void;
}

/** A counting semaphore with a bounded FIFO queue. */
export class Limiter {
  running = 0;
  private readonly queue: Waiter[] = [];
  constructor(readonly opts: ConcurrencyOptions) {}

  get waiting(): number {
    return this.queue.length;
  }

  /** Resolves with a release function once a slot is free; rejects with a 429 when the queue is full or the wait
   * is too long, and with the signal's reason when the client goes away while queued. */
  acquire(signal?: AbortSignal): Promise<() => void> {
    const { maxConcurrent, maxQueue, maxQueueWaitMs, retryAfterSeconds, clock, scope = "the gateway" } = this.opts;
    if (this.running < maxConcurrent && this.queue.length === 0) {
      this.running++;
      return Promise.resolve(this.releaser());
    }
    const retry = { "retry-after": String(retryAfterSeconds) };
    if (this.queue.length >= maxQueue) {
      return Promise.reject(
        new HttpError(
          429,
          "rate_limit_exceeded",
          `${scope} is at its limit: ${maxConcurrent} requests running and ${maxQueue} queued; retry after ${retryAfterSeconds} s`,
          null,
          retry,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const leave = () => {
        const i = this.queue.indexOf(waiter);
        if (i >= 0) this.queue.splice(i, 1);
        clock.clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      const waiter: Waiter = {
        grant: () => {
          leave();
          this.running++;
          resolve(this.releaser());
        },
        fail: (e) => {
          leave();
          reject(e);
        },
      };
      const onAbort = () => waiter.fail(signal!.reason ?? new Error("client went away while queued"));
      const timer = clock.setTimeout(
        () =>
          waiter.fail(
            new HttpError(
              429,
              "queue_timeout",
              `waited ${maxQueueWaitMs} ms in the queue of ${scope} without getting one of its ${maxConcurrent} slots; retry after ${retryAfterSeconds} s`,
              null,
              retry,
            ),
          ),
        maxQueueWaitMs,
      );
      this.queue.push(waiter);
      if (signal?.aborted) onAbort();
      else signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running--;
      const next = this.queue[0];
      if (next && this.running < this.opts.maxConcurrent) next.grant();
    };
  }
}

/** The middleware; `limiter` is exposed so /metrics can read running and queued counts. */
export function concurrency(limiter: Limiter): MiddlewareHandler<GatewayEnv> {
  return async (c, next) => {
    const release = await limiter.acquire(c.req.raw.signal);
    const onDone = c.get("onDone");
    if (onDone) onDone(release); // held until the body is over (observe() wraps it)
    try {
      await next();
    } finally {
      if (!onDone) release(); // used without observe(): the best we know is the handler's end
    }
  };
}
