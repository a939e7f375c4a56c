/** The metrics a chat run records, as the chat core sees them; the gateway's GatewayMetrics
 * (edge/metrics/gateway-metrics.ts) provides them under these names. */

export type Labels = Record<string, string>;

export interface CounterLike {
  inc(labels?: Labels, by?: number): void;
}

export interface HistogramLike {
  observe(x: number, labels?: Labels): void;
}

/** Why the gateway aborted a generation (the `reason` label of gust_aborts_total). */
export type AbortReason = "client" | "deadline" | "stop_sequence";

export interface ChatMetrics {
  /** Seconds from the request's arrival to its first token, by route. */
  ttft: HistogramLike;
  /** Seconds from sending the generation to the runtime to its first token, by route. */
  runtimeFirstToken: HistogramLike;
  /** Seconds per output token after the first, by route. */
  tpot: HistogramLike;
  promptTokens: CounterLike;
  generationTokens: CounterLike;
  reasoningTokens: CounterLike;
  toolCallErrors: CounterLike;
  aborts: CounterLike;
}
