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

/** The sum of a metric's series labelled with this runtime of a pool (NaN when there is none). */
export async function scrapeRuntimeMetric(base: string, name: string, runtime: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const lines = text.split("\n").filter((l) => l.startsWith(`${name}{`) && l.includes(`runtime="${runtime}"`));
  return lines.length === 0 ? NaN : lines.reduce((t, l) => t + Number(l.split(" ").pop()), 0);
}
