// Every runtime figure /metrics shows, in one table, each read once from a runtime's stats answer: as the gateway's
// total (gust_runtime_*, gust_kv_*: its runtime, or a pool's sum through binding.stats()) and, per runtime of a pool,
// under vLLM's name where vLLM has one (vllm:num_requests_running …), so dashboards and llm-d's endpoint picker built
// for vLLM read gust runtimes. gateway-metrics.ts makes the totals, runtime-pool/pool-metrics.ts the per-runtime ones.
import type { RuntimeStats } from "../../runtime/wire/messages.ts";

export interface RuntimeFigure {
  /** The gateway-wide gauge's name and help, or null where only the per-runtime one exists. */
  total: [string, string] | null;
  /** The per-runtime gauge's name and help (label `runtime`), or null where vLLM has no such figure. */
  perRuntime: [string, string] | null;
  /** undefined: the runtime does not report it (its gauge leaves the output). */
  read: (stats: RuntimeStats) => number | undefined;
}

export const RUNTIME_FIGURES: readonly RuntimeFigure[] = [
  {
    total: ["gust_runtime_requests_running", "Sequences running in the runtime engine."],
    perRuntime: ["vllm:num_requests_running", "Sequences running in the runtime's engine."],
    read: (s) => s.running,
  },
  {
    total: ["gust_runtime_requests_waiting", "Sequences queued in the runtime engine."],
    perRuntime: ["vllm:num_requests_waiting", "Sequences waiting in the runtime's engine."],
    read: (s) => s.waiting,
  },
  {
    total: ["gust_kv_blocks_used", "KV cache blocks in use in the runtime."],
    perRuntime: null,
    read: (s) => s.kvBlocksUsed,
  },
  {
    total: ["gust_kv_blocks_total", "KV cache blocks in the runtime's pool."],
    perRuntime: null,
    read: (s) => s.kvBlocksTotal,
  },
  {
    total: null,
    perRuntime: ["vllm:gpu_cache_usage_perc", "Share of the runtime's KV blocks in use (0 to 1)."],
    read: (s) => (s.kvBlocksTotal > 0 ? s.kvBlocksUsed / s.kvBlocksTotal : 0),
  },
  {
    total: ["gust_prefix_cache_hit_rate", "Share of prompt tokens served from the prefix cache."],
    perRuntime: ["vllm:gpu_prefix_cache_hit_rate", "Share of the runtime's prefix-cache block queries that hit."],
    read: (s) => s.prefixCacheHitRate,
  },
  {
    total: ["gust_runtime_aborted_total", "Sequences the runtime aborted since it started (any cause)."],
    perRuntime: null,
    read: (s) => s.abortedTotal,
  },
  {
    total: ["gust_spec_drafted_tokens_total", "Draft tokens the runtime's EAGLE head proposed since it started."],
    perRuntime: null,
    read: (s) => s.spec?.drafted,
  },
  {
    total: ["gust_spec_accepted_tokens_total", "Draft tokens the target accepted since the runtime started."],
    perRuntime: null,
    read: (s) => s.spec?.accepted,
  },
  {
    total: ["gust_spec_tokens_per_target_step", "Mean tokens emitted per speculative verification step (1 = no gain)."],
    perRuntime: null,
    read: (s) => (s.spec && s.spec.targetSteps > 0 ? s.spec.emitted / s.spec.targetSteps : undefined),
  },
];
