/** Request deadline. When it passes, `c.var.deadline.signal` aborts; routes hand that signal (and the time left,
 * as `timeoutMs`) to the runtime, so the sequence itself stops and frees its KV blocks, not just the HTTP answer.
 * If no response has been produced yet the client gets a 504; a stream already under way ends with an error
 * event written by its route. The server's idle timeout is lifted here, because the deadline now bounds the
 * request (Bun's 10 s idle default would otherwise cut a silent prefill or hidden reasoning). */
import type { MiddlewareHandler } from "hono";
import type { Clock } from "../../functions/http/clock.ts";
import type { GatewayEnv } from "../../functions/http/env.ts";
import { deadlineExceeded, type HttpError } from "../../functions/http/errors.ts";

export interface DeadlineOptions {
  timeoutMs: number;
  clock: Clock;
  /** The error when it passes; default deadlineExceeded(timeoutMs) (the gateway's deadline). */
  exceeded?: () => HttpError;
}

export function deadline(opts: DeadlineOptions): MiddlewareHandler<GatewayEnv> {
  const { timeoutMs, clock } = opts;
  const exceeded = opts.exceeded ?? (() => deadlineExceeded(timeoutMs));
  return async (c, next) => {
    const controller = new AbortController();
    const expiresAt = clock.now() + timeoutMs;
    let fire!: () => void;
    const fired = new Promise<"deadline">((resolve) => (fire = () => resolve("deadline")));
    const timer = clock.setTimeout(() => {
      controller.abort(exceeded());
      fire();
    }, timeoutMs);
    c.set("deadline", {
      signal: controller.signal,
      expiresAt,
      remainingMs: () => Math.max(0, expiresAt - clock.now()),
    });
    c.env?.liftIdleTimeout?.();
    const onDone = c.get("onDone");
    if (onDone) onDone(() => clock.clearTimeout(timer));
    // the handler keeps running after a lost race; its late rejection is handled by the error handler
    const handled = next().then(() => "done" as const);
    const outcome = await Promise.race([handled, fired]);
    if (!onDone) clock.clearTimeout(timer);
    if (outcome === "deadline" && !c.finalized) {
      // No response in time (the handler is being aborted through the signal): answer for it, and tell the error
      // handler that a late error from the handler must not replace this answer.
      c.set("answered", true);
      throw exceeded();
    }
  };
}
