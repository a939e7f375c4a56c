/** A minimal Prometheus registry: counters, gauges and histograms with labels, rendered in the text exposition
 * format 0.0.4. Written here because the gateway needs a few dozen lines of it and must run on Bun and Deno. */

type Labels = Record<string, string>;

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function labelText(labels: Labels, extra?: [string, string]): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  if (extra) parts.push(`${extra[0]}="${escapeLabel(extra[1])}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

function formatNumber(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "+Inf";
  if (x === -Infinity) return "-Inf";
  return String(x);
}

const keyOf = (labels: Labels) => JSON.stringify(Object.entries(labels).sort());

interface Metric {
  render(): string;
}

abstract class Family<T> implements Metric {
  protected readonly series = new Map<string, { labels: Labels; value: T }>();
  constructor(readonly name: string, readonly help: string, readonly type: "counter" | "gauge" | "histogram") {}

  protected get(labels: Labels, init: () => T): T {
    const key = keyOf(labels);
    let s = this.series.get(key);
    if (!s) {
      s = { labels: { ...labels }, value: init() };
      this.series.set(key, s);
    }
    return s.value;
  }

  protected header(): string {
    return `# HELP ${this.name} ${this.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}\n# TYPE ${this.name} ${this.type}\n`;
  }

  abstract render(): string;
}

export class Counter extends Family<{ v: number }> {
  constructor(name: string, help: string) {
    super(name, help, "counter");
  }
  inc(labels: Labels = {}, by = 1): void {
    this.get(labels, () => ({ v: 0 })).v += by;
  }
  value(labels: Labels = {}): number {
    return this.series.get(keyOf(labels))?.value.v ?? 0;
  }
  render(): string {
    let out = this.header();
    for (const { labels, value } of this.series.values()) out += `${this.name}${labelText(labels)} ${formatNumber(value.v)}\n`;
    return out;
  }
}

/** A gauge whose value is read when scraped (`collect`), or set directly. */
export class Gauge extends Family<{ v: number }> {
  collect: (() => Array<[Labels, number]> | number | null) | null = null;
  constructor(name: string, help: string) {
    super(name, help, "gauge");
  }
  set(value: number, labels: Labels = {}): void {
    this.get(labels, () => ({ v: 0 })).v = value;
  }
  render(): string {
    if (this.collect) {
      const got = this.collect();
      if (got === null) return "";
      this.series.clear();
      if (typeof got === "number") this.set(got);
      else for (const [labels, v] of got) this.set(v, labels);
    }
    let out = this.header();
    for (const { labels, value } of this.series.values()) out += `${this.name}${labelText(labels)} ${formatNumber(value.v)}\n`;
    return out;
  }
}

export class Histogram extends Family<{ counts: number[]; sum: number; count: number }> {
  constructor(name: string, help: string, readonly buckets: number[]) {
    super(name, help, "histogram");
  }
  observe(x: number, labels: Labels = {}): void {
    const s = this.get(labels, () => ({ counts: this.buckets.map(() => 0), sum: 0, count: 0 }));
    for (let i = 0; i < this.buckets.length; i++) if (x <= this.buckets[i]) s.counts[i]++;
    s.sum += x;
    s.count++;
  }
  count(labels: Labels = {}): number {
    return this.series.get(keyOf(labels))?.value.count ?? 0;
  }
  render(): string {
    let out = this.header();
    for (const { labels, value } of this.series.values()) {
      this.buckets.forEach((b, i) => (out += `${this.name}_bucket${labelText(labels, ["le", formatNumber(b)])} ${value.counts[i]}\n`));
      out += `${this.name}_bucket${labelText(labels, ["le", "+Inf"])} ${value.count}\n`;
      out += `${this.name}_sum${labelText(labels)} ${formatNumber(value.sum)}\n`;
      out += `${this.name}_count${labelText(labels)} ${value.count}\n`;
    }
    return out;
  }
}

export class Registry {
  private readonly metrics: Metric[] = [];
  register<M extends Metric>(m: M): M {
    this.metrics.push(m);
    return m;
  }
  render(): string {
    return this.metrics.map((m) => m.render()).join("");
  }
}

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
