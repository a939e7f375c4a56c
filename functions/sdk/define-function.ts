// A function is a module whose default export is a Hono app, or `defineFunction({...})` around one.
// The gateway calls the app with its bindings in `c.env`; `gust()` (applied automatically by
// defineFunction) copies them into `c.var` so handlers read `c.var.model`.
import { Hono, type MiddlewareHandler } from "hono";
import { errorResponse, HttpError, toHttpError } from "../http/errors.ts";
import type { FunctionEnv, ReasoningSetting } from "./types.ts";

export interface FunctionLimits {
  /** Longest a request may run before the runtime sequence is aborted. */
  timeoutMs?: number;
  /** Concurrent requests of this function (queued beyond that). */
  maxConcurrency?: number;
  /** Largest request body in bytes. */
  maxBodyBytes?: number;
}

export interface FunctionDefinition<E extends FunctionEnv = FunctionEnv> {
  readonly kind: "gust-function";
  readonly name?: string;
  readonly app: Hono<E>;
  /** Route default for the reasoning budget (requests may lower it, operators cap it). */
  readonly reasoning?: Partial<ReasoningSetting>;
  readonly limits?: FunctionLimits;
  /** Hosts (name or name:port) the function may reach over the network; none by default. Loopback never. */
  readonly allowHosts?: readonly string[];
}

/** Copies the gateway's bindings from `c.env` into `c.var` (model, reasoning, requestId). */
export function gust(): MiddlewareHandler<FunctionEnv> {
  return async (c, next) => {
    if (!c.env?.model) {
      throw new Error("gust(): no model binding in c.env; is this app running under the gust gateway?");
    }
    c.set("model", c.env.model);
    c.set("reasoning", c.env.reasoning);
    c.set("requestId", c.env.requestId);
    await next();
  };
}

export function defineFunction<E extends FunctionEnv = FunctionEnv>(
  def: Omit<FunctionDefinition<E>, "kind">,
): FunctionDefinition<E> {
  // same rule as the gateway's /fn/<name> router (edge/functions-mount.ts)
  if (def.name !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(def.name)) {
    throw new Error(
      `Function name "${def.name}" is invalid: use a letter or digit, then letters, digits, _ or -, at most 64 characters`,
    );
  }
  const wrapped = new Hono<E>();
  wrapped.use(gust() as unknown as MiddlewareHandler<E>);
  wrapped.route("/", def.app);
  // errors answer as on the chat routes (a prompt that does not fit: 400 naming the field; runtime down: 503); an
  // error of the function's own making is a 500 that says so
  wrapped.onError((err) => {
    const known = toHttpError(err);
    return errorResponse(
      known.code === "internal_error"
        ? new HttpError(500, "internal_error", `Internal error in function: ${err.message}`)
        : known,
    );
  });
  return { ...def, kind: "gust-function", app: wrapped };
}

export function isFunctionDefinition(value: unknown): value is FunctionDefinition {
  return typeof value === "object" && value !== null && (value as { kind?: unknown }).kind === "gust-function";
}
