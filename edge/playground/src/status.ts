// The status line: /ready (is a runtime connected, which model, what context) and a targeted /metrics scrape (KV
// blocks, requests running, speculation acceptance), polled every second. A down runtime is said in words.
import { apiFetch, errorMessage } from "./api.ts";
import { parseMetrics, runtimeFigures, STATUS_FAMILIES } from "./prometheus.ts";

const POLL_MS = 1000;

async function readLine(): Promise<{ text: string; state: "up" | "down" }> {
  let ready: Response;
  try {
    ready = await fetch("/ready");
  } catch {
    return { text: "The gateway does not answer: is `gust dev` running?", state: "down" };
  }
  if (!ready.ok) {
    return { text: `Runtime down: ${await errorMessage(ready)}. Chat will fail until it is back.`, state: "down" };
  }
  const info = (await ready.json()) as { model: string; context_length: number };
  const parts = [`model ${info.model}`, `context ${info.context_length}`];
  const query = STATUS_FAMILIES.map((n) => `name[]=${n}`).join("&");
  const res = await apiFetch(`/metrics?${query}`).catch(() => null);
  if (res?.ok) {
    const f = runtimeFigures(parseMetrics(await res.text()));
    if (f.kvUsed !== null) parts.push(`KV blocks ${f.kvUsed}/${f.kvTotal ?? "?"}`);
    if (f.running !== null) parts.push(`running ${f.running}, waiting ${f.waiting ?? 0}`);
    parts.push(f.specAcceptance === null ? "speculation —" : `speculation ${(f.specAcceptance * 100).toFixed(0)}%`);
  } else if (res) {
    parts.push(`metrics: ${await errorMessage(res)}`);
  }
  return { text: parts.join(" · "), state: "up" };
}

export function startStatus(el: HTMLElement): void {
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      const { text, state } = await readLine();
      el.textContent = text;
      el.dataset.state = state;
    } finally {
      busy = false;
    }
  };
  void tick();
  setInterval(tick, POLL_MS);
}
