/** Operations routes: /health (the gateway process is up; always 200), /ready (a runtime is connected; 503
 * otherwise, for load balancers), /metrics (Prometheus text; runtime gauges from `binding.stats()`; `?name[]=` picks
 * families). */
import type { Handler } from "hono";
import type { Clock } from "../functions/http/clock.ts";
import type { GatewayEnv } from "../functions/http/env.ts";
import { errorResponse } from "../functions/http/errors.ts";
import { bodyInMemory } from "../functions/http/lifecycle.ts";
import type { GatewayMetrics } from "./metrics/gateway-metrics.ts";
import { PROMETHEUS_CONTENT_TYPE } from "./metrics/registry.ts";
import type { ModelBinding, RuntimeStats } from "../functions/sdk/binding.ts";
import { type BindingGetter, runtimeUnavailable } from "./middleware/require-model.ts";

export function health(): Handler<GatewayEnv> {
  return (c) => {
    c.set("routeLabel", "/health");
    return bodyInMemory(c.json({ status: "ok" }));
  };
}

export function ready(binding: BindingGetter): Handler<GatewayEnv> {
  return (c) => {
    c.set("routeLabel", "/ready");
    const current = binding();
    if (!current) return errorResponse(runtimeUnavailable(binding.why?.()));
    return bodyInMemory(
      c.json({ status: "ready", model: current.info.id, context_length: current.info.contextLength }),
    );
  };
}

export interface MetricsRouteOptions {
  binding: () => ModelBinding | null | undefined;
  metrics: GatewayMetrics;
  clock: Clock;
  /** A scrape does not wait longer than this for the runtime's stats. */
  statsTimeoutMs: number;
}

export function metricsRoute(opts: MetricsRouteOptions): Handler<GatewayEnv> {
  return async (c) => {
    c.set("routeLabel", "/metrics");
    // `?name[]=gust_kv_blocks_used&name[]=…` renders only those families, and asks the runtime for stats only when
    // one of them is a runtime gauge: a cheap targeted scrape for scripts and benchmarks
    const asked = c.req.queries("name[]");
    const names = asked && asked.length > 0 ? new Set(asked) : null;
    const needsRuntime = opts.metrics.needsRuntime(names);
    const binding = needsRuntime ? opts.binding() : null;
    let stats: RuntimeStats | null = null;
    if (binding) {
      const ac = new AbortController();
      let timer: unknown = null;
      const timedOut = new Promise<null>((resolve) => {
        timer = opts.clock.setTimeout(() => {
          ac.abort(new Error("stats timed out"));
          resolve(null);
        }, opts.statsTimeoutMs);
      });
      try {
        // raced as well as signalled: a scrape must not hang on a runtime that ignores the signal
        stats = await Promise.race([binding.stats(ac.signal), timedOut]);
      } catch {
        stats = null; // shown as gust_runtime_up 0; a scrape never fails because the runtime is slow or gone
      } finally {
        opts.clock.clearTimeout(timer);
      }
    }
    if (needsRuntime) opts.metrics.setRuntime(stats);
    return bodyInMemory(c.body(opts.metrics.render(names), 200, { "content-type": PROMETHEUS_CONTENT_TYPE }));
  };
}
