/** The /fn/<name>/* slot where deployed user functions answer. The gateway checks the name (no path characters, so
 * a name can never point outside the registry) and hands the request to the registry's handler, which can be
 * swapped at any time (a deploy replaces it atomically: requests already running keep the handler they got).
 *
 * Each call runs under its function's own limits (FunctionLimits from defineFunction, capped by the gateway's):
 * a concurrency gate per function apart from the built-in routes' slots, a body size and a deadline after which a
 * body still streaming is cut. Whatever the function does (throws, returns something that is not a Response,
 * never answers, streams forever, its client leaves), the slot is released. */
import type { Handler } from "hono";
import type { Clock } from "../functions/http/clock.ts";
import type { GatewayEnv } from "../functions/http/env.ts";
import { HttpError } from "../functions/http/errors.ts";
import { cutBodyAt } from "./functions/cut-body.ts";
import { FunctionGates } from "./functions/gates.ts";
import { bodyLimit } from "./middleware/body-limit.ts";
import { deadline } from "./middleware/deadline.ts";
import type { FunctionLimitsLike, FunctionsHandler, ResolvedGatewayOptions } from "./options.ts";

/** Function names: a letter or digit, then letters, digits, `_` or `-`; at most 64. The registry should refuse to
 * deploy any other name. */
export const FUNCTION_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

const RAW_NAME = /^\/fn\/([^/]*)/;

function checkedName(path: string): string {
  // the raw path segment: a decoded param would turn %2F into "/" and hide it
  const raw = RAW_NAME.exec(path)?.[1] ?? "";
  let name: string;
  try {
    name = decodeURIComponent(raw);
  } catch {
    name = raw;
  }
  if (!FUNCTION_NAME_RE.test(name) || raw !== name) {
    throw new HttpError(
      400,
      "invalid_function_name",
      `function name ${
        JSON.stringify(name)
      } is not valid; allowed: a letter or digit, then letters, digits, _ or -, at most 64 characters`,
      "name",
    );
  }
  return name;
}

const notFound = (name: string) =>
  new HttpError(
    404,
    "function_not_found",
    `no function named ${JSON.stringify(name)} is deployed on this gateway`,
    "name",
  );

function describe(x: unknown): string {
  if (x === null) return "null";
  if (typeof x === "object") return x.constructor?.name ? `an object (${x.constructor.name})` : "an object";
  return typeof x;
}

/** Rejects when the client goes away before the function answered (its slot is then released at once). */
function clientGone(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const leave = () => reject(new HttpError(499, "client_closed_request", "the client went away"));
    if (signal.aborted) leave();
    else signal.addEventListener("abort", leave, { once: true });
  });
}

export class FunctionSlot {
  private handler: FunctionsHandler | null;
  readonly gates: FunctionGates;
  readonly #limits: ResolvedGatewayOptions["limits"];
  readonly #clock: Clock;

  constructor(initial: FunctionsHandler | null, limits: ResolvedGatewayOptions["limits"], clock: Clock) {
    this.handler = initial;
    this.#limits = limits;
    this.#clock = clock;
    this.gates = new FunctionGates({ ...limits, clock });
  }

  /** Replace the registry handler (null: nothing mounted, every /fn/ request is a 404). */
  mount(handler: FunctionsHandler | null): void {
    this.handler = handler;
  }

  route(): Handler<GatewayEnv> {
    return async (c) => {
      let name: string;
      try {
        name = checkedName(c.req.path);
      } catch (err) {
        c.set("routeLabel", "/fn/:invalid");
        throw err;
      }
      const handler = this.handler; // taken once: a deploy during this request does not switch it midway
      const limits: FunctionLimitsLike | null = handler ? (handler.limitsOf?.(name) ?? {}) : null;
      if (!handler || limits === null) {
        // unknown names are unbounded; a metrics label must not be
        c.set("routeLabel", "/fn/:unknown");
        throw notFound(name);
      }
      c.set("routeLabel", `/fn/${name}`);
      const signal = c.req.raw.signal;
      const release = await this.gates.acquire(name, limits.maxConcurrency, signal);
      const onDone = c.get("onDone");
      if (onDone) onDone(release);
      try {
        return await this.#call(c as never, handler, name, limits, signal);
      } finally {
        if (!onDone) release(); // used without observe(): the best we know is the handler's end
      }
    };
  }

  async #call(
    c: Parameters<Handler<GatewayEnv>>[0],
    handler: FunctionsHandler,
    name: string,
    limits: FunctionLimitsLike,
    signal: AbortSignal,
  ): Promise<Response> {
    const maxBytes = Math.min(limits.maxBodyBytes ?? Infinity, this.#limits.maxBodyBytes);
    const timeoutMs = Math.min(limits.timeoutMs ?? Infinity, this.#limits.requestTimeoutMs);
    const ownTimeout = limits.timeoutMs !== undefined && limits.timeoutMs <= this.#limits.requestTimeoutMs;
    const exceeded = ownTimeout
      ? () =>
        new HttpError(
          504,
          "function_timeout",
          `function ${JSON.stringify(name)} did not finish within its timeoutMs of ${timeoutMs} ms; it was stopped`,
        )
      : undefined;
    let res: unknown = null;
    const run = async () => {
      res = await Promise.race([handler(c, name), clientGone(signal)]);
    };
    const timed = deadline({ timeoutMs, clock: this.#clock, exceeded });
    const inner = () => timed(c, run) as Promise<void>;
    if (maxBytes < this.#limits.maxBodyBytes) await bodyLimit({ maxBytes })(c, inner);
    else await inner();
    if (res === null || res === undefined) throw notFound(name);
    if (!(res instanceof Response)) {
      throw new HttpError(
        502,
        "function_bad_response",
        `function ${JSON.stringify(name)} returned ${describe(res)} instead of a Response`,
      );
    }
    return cutBodyAt(res, c.get("deadline").signal);
  }
}
