/** The runtime pool's metrics, one series per runtime (label `runtime`, its address): what the pool did (requests,
 * routing decisions, retries, prefix-hit tokens) and the runtimes' own gauges under vLLM's names, from the table that
 * also makes the gateway's totals (edge/metrics/runtime-figures.ts). */
import type { RuntimeStats } from "../../runtime/wire/messages.ts";
import { Counter, Gauge } from "../metrics/registry.ts";
import { RUNTIME_FIGURES, type RuntimeFigure } from "../metrics/runtime-figures.ts";
import type { RoutingReason } from "./routing.ts";

export class PoolMetrics {
  readonly requests = new Counter("gust_pool_requests_total", "Generations sent to each runtime of the pool.");
  readonly prefixHitTokens = new Counter(
    "gust_pool_prefix_hit_tokens_total",
    "Prompt tokens each runtime served from its prefix cache (its usage.cached_tokens).",
  );
  readonly promptTokens = new Counter("gust_pool_prompt_tokens_total", "Prompt tokens each runtime was sent.");
  readonly decisions = new Counter(
    "gust_pool_routing_decisions_total",
    "Routing decisions by chosen runtime and reason (prefix, least_loaded, load_override, random).",
  );
  readonly retries = new Counter(
    "gust_pool_retries_total",
    "Generations sent elsewhere because the runtime left or drained before its first token, by that runtime.",
  );
  readonly up = new Gauge("gust_pool_runtime_up", "1 while the runtime is connected and takes requests, else 0.");
  /** The runtimes' own gauges under vLLM's names, each with how to read it from a stats answer. */
  readonly #perRuntime: Array<[Gauge, RuntimeFigure["read"]]> = RUNTIME_FIGURES.flatMap((f) =>
    f.perRuntime ? [[new Gauge(...f.perRuntime), f.read] as [Gauge, RuntimeFigure["read"]]] : []
  );

  /** Every family, for the gateway's registry. */
  readonly families = [
    this.requests,
    this.prefixHitTokens,
    this.promptTokens,
    this.decisions,
    this.retries,
    this.up,
    ...this.#perRuntime.map(([gauge]) => gauge),
  ];

  routed(runtime: string, reason: RoutingReason): void {
    this.decisions.inc({ runtime, reason });
    this.requests.inc({ runtime });
  }

  /** The latest stats of each runtime (null: not connected, its gauges leave the output). */
  setRuntimes(runtimes: Array<{ address: string; isUp: boolean; stats: RuntimeStats | null }>): void {
    this.up.collect = () => runtimes.map((r) => [{ runtime: r.address }, r.isUp ? 1 : 0]);
    for (const [gauge, read] of this.#perRuntime) {
      gauge.collect = () =>
        runtimes.flatMap((r) => {
          const value = r.stats && r.isUp ? read(r.stats) : undefined;
          return value === undefined ? [] : [[{ runtime: r.address }, value] as [Record<string, string>, number]];
        });
    }
  }
}
