/** Request bookkeeping that must see every response, errors included: start time, the `onDone` hook that fires
 * when the response body is over (slots and timers are released there, not when the handler returns, because
 * streams outlive handlers), and the request count / duration metrics by route label. */
import type { MiddlewareHandler } from "hono";
import type { Clock } from "../../functions/http/clock.ts";
import type { GatewayEnv } from "../../functions/http/env.ts";
import { whenBodyDone } from "../../functions/http/lifecycle.ts";
import type { GatewayMetrics } from "../metrics/gateway-metrics.ts";
import type { LoopMarker } from "../metrics/loop-lag.ts";

export interface ObserveOptions {
  metrics: GatewayMetrics;
  clock: Clock;
  /** Paths that are their own metrics label even when a request fails before reaching its route (a 401). Other
   * paths are labelled by the route that matched, or "other": never by the raw path, whose values are unbounded. */
  knownPaths?: ReadonlySet<string>;
  /** Told of each arriving request: the event-loop stall monitor samples the loop turns that have work. */
  loop?: LoopMarker;
}

function fallbackLabel(
  path: string,
  registered: string | undefined,
  knownPaths: ReadonlySet<string> | undefined,
): string {
  if (knownPaths?.has(path)) return path;
  return registered && registered !== "*" && registered !== "/*" ? registered : "other";
}

export function observe(opts: ObserveOptions): MiddlewareHandler<GatewayEnv> {
  const { metrics, clock } = opts;
  return async (c, next) => {
    opts.loop?.mark();
    const startedAt = clock.now();
    const hooks: Array<() => void> = [];
    let over = false;
    c.set("startedAt", startedAt);
    c.set("metrics", metrics);
    c.set("onDone", (fn) => {
      if (over) fn();
      else hooks.push(fn);
    });
    try {
      await next();
    } catch (err) {
      // nothing answered (a handler's result Hono could not use): the hooks still run, or slots leak
      over = true;
      runHooks(hooks);
      throw err;
    }
    const status = c.res.status;
    const method = c.req.method;
    // routes label themselves; a request that failed before its handler is labelled by its known path, else by
    // the registered route that matched ("*" is the catch-all middleware: nothing matched)
    // (c.req.routePath builds an array of every matched route: read only for requests no route has labelled yet)
    const labelSoFar = c.get("routeLabel") ?? fallbackLabel(c.req.path, c.req.routePath, opts.knownPaths);
    const watched = whenBodyDone(c.res, () => {
      over = true;
      // label read at the end: routes set it while handling
      const route = c.get("routeLabel") ?? labelSoFar;
      metrics.requests.inc({ route, method, status: String(status) });
      metrics.duration.observe((clock.now() - startedAt) / 1000, { route });
      runHooks(hooks);
    });
    // Hono's setter rebuilds the Response and copies its headers: only when the body had to be wrapped
    if (watched !== c.res) c.res = watched;
  };
}

function runHooks(hooks: Array<() => void>): void {
  for (const fn of hooks.splice(0)) {
    try {
      fn();
    } catch {
      // a failing cleanup must not stop the others
    }
  }
}
