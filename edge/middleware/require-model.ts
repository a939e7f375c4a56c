/** Model routes need a connected runtime: without one they answer 503 at once (no queueing behind a dead socket),
 * while /health keeps answering and /ready reports the outage. Sets `c.var.binding`. */
import type { MiddlewareHandler } from "hono";
import type { ModelBinding } from "../../functions/sdk/binding.ts";
import type { GatewayEnv } from "../../functions/http/env.ts";
import { HttpError } from "../../functions/http/errors.ts";

/** `why`, when given, says why there is no binding (the runtime link's last error: gone, frozen, ...). */
export type BindingGetter = (() => ModelBinding | null | undefined) & { why?: () => string };

export function runtimeUnavailable(why?: string): HttpError {
  return new HttpError(
    503,
    "runtime_unavailable",
    `the model runtime is not connected to this gateway${
      why ? ` (${why})` : ""
    }; model requests fail until it is back (the gateway reconnects on its own), see /ready`,
    null,
    { "retry-after": "5" },
  );
}

export function requireModel(binding: BindingGetter): MiddlewareHandler<GatewayEnv> {
  return async (c, next) => {
    const current = binding();
    if (!current) throw runtimeUnavailable(binding.why?.());
    c.set("binding", current);
    return next();
  };
}
