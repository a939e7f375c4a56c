// Reading one sample out of Prometheus text (the gateway's /metrics): the first line of that series, or NaN.
export function metricSample(text: string, name: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.split(" ").pop()) : NaN;
}

/** Scrapes `${base}/metrics` and reads one sample. */
export async function scrapeMetric(base: string, name: string): Promise<number> {
  return metricSample(await (await fetch(`${base}/metrics`)).text(), name);
}

/** How many of the gateway's event-loop lag samples (gust_event_loop_lag_seconds) were over 5 ms: the stall target. */
export const loopLagOver5ms = (text: string): number =>
  metricSample(text, "gust_event_loop_lag_seconds_count") -
  metricSample(text, 'gust_event_loop_lag_seconds_bucket{le="0.005"}');
