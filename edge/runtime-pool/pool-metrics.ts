/** The runtime pool's metrics, one series per runtime (label `runtime`, its address). The runtimes' own gauges carry
 * vLLM's names (vllm:num_requests_running, vllm:num_requests_waiting, vllm:gpu_cache_usage_perc, a 0–1 share as in
 * vLLM) so dashboards and llm-d's endpoint picker built for vLLM read gust runtimes too. */
import type { RuntimeStats } from "../../runtime/wire/messages.ts";
import { Counter, Gauge } from "../metrics/registry.ts";
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
  readonly running = new Gauge("vllm:num_requests_running", "Sequences running in the runtime's engine.");
  readonly waiting = new Gauge("vllm:num_requests_waiting", "Sequences waiting in the runtime's engine.");
  readonly cacheUsage = new Gauge("vllm:gpu_cache_usage_perc", "Share of the runtime's KV blocks in use (0 to 1).");
  readonly prefixHitRate = new Gauge(
    "vllm:gpu_prefix_cache_hit_rate",
    "Share of the runtime's prefix-cache block queries that hit.",
  );

  /** Every family, for the gateway's registry. */
  readonly families = [
    this.requests,
    this.prefixHitTokens,
    this.promptTokens,
    this.decisions,
    this.retries,
    this.up,
    this.running,
    this.waiting,
    this.cacheUsage,
    this.prefixHitRate,
  ];

  routed(runtime: string, reason: RoutingReason): void {
    this.decisions.inc({ runtime, reason });
    this.requests.inc({ runtime });
  }

  /** The latest stats of each runtime (null: not connected, its gauges leave the output). */
  setRuntimes(runtimes: Array<{ address: string; isUp: boolean; stats: RuntimeStats | null }>): void {
    const of = (read: (s: RuntimeStats) => number) => () =>
      runtimes.flatMap((r) =>
        r.stats && r.isUp ? [[{ runtime: r.address }, read(r.stats)] as [Record<string, string>, number]] : []
      );
    this.up.collect = () => runtimes.map((r) => [{ runtime: r.address }, r.isUp ? 1 : 0]);
    this.running.collect = of((s) => s.running);
    this.waiting.collect = of((s) => s.waiting);
    this.cacheUsage.collect = of((s) => (s.kvBlocksTotal > 0 ? s.kvBlocksUsed / s.kvBlocksTotal : 0));
    this.prefixHitRate.collect = of((s) => s.prefixCacheHitRate);
  }
}
