// Reads the few gauges the status line shows out of the gateway's Prometheus text (/metrics). Samples of one family
// with different labels are summed: `gust_requests_running 2` → { gust_requests_running: 2 }.
export function parseMetrics(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const value = Number(m[3]);
    if (Number.isNaN(value)) continue;
    out[m[1]] = (out[m[1]] ?? 0) + value;
  }
  return out;
}

export interface RuntimeFigures {
  runtimeUp: boolean;
  kvUsed: number | null;
  kvTotal: number | null;
  running: number | null;
  waiting: number | null;
  /** Accepted draft tokens over drafted ones since the runtime started; null before any drafting. */
  specAcceptance: number | null;
}

export function runtimeFigures(m: Record<string, number>): RuntimeFigures {
  const drafted = m.gust_spec_drafted_tokens_total;
  const accepted = m.gust_spec_accepted_tokens_total;
  return {
    runtimeUp: m.gust_runtime_up === 1,
    kvUsed: m.gust_kv_blocks_used ?? null,
    kvTotal: m.gust_kv_blocks_total ?? null,
    running: m.gust_runtime_requests_running ?? null,
    waiting: m.gust_runtime_requests_waiting ?? null,
    specAcceptance: drafted > 0 && accepted !== undefined ? accepted / drafted : null,
  };
}

/** The families the status line asks for (a targeted scrape: /metrics?name[]=…). */
export const STATUS_FAMILIES = [
  "gust_runtime_up",
  "gust_kv_blocks_used",
  "gust_kv_blocks_total",
  "gust_runtime_requests_running",
  "gust_runtime_requests_waiting",
  "gust_spec_drafted_tokens_total",
  "gust_spec_accepted_tokens_total",
];
