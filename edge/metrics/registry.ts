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

/** A series' map key: its labels by name, each part length-prefixed so no two label sets share a key
 * ({a: "b,c"} and {a: "b", c: ""} differ). Runs on every observation, several per request, so it builds one string
 * and no entry arrays: {route: "/v1/chat/completions"} → "5:route20:/v1/chat/completions". */
function keyOf(labels: Labels): string {
  const names = Object.keys(labels);
  if (names.length > 1) names.sort();
  let key = "";
  for (const name of names) {
    const value = labels[name];
    key += `${name.length}:${name}${value.length}:${value}`;
  }
  return key;
}

interface Metric {
  /** The names its sample lines carry (a histogram's are name_bucket, name_sum and name_count). */
  sampleNames(): string[];
  render(): string;
}

/** Which families a scrape asked for (`?name[]=…`, as in the Python client's exposition handler): a family is
 * rendered whole when its name or one of its sample names was asked for; null renders every family. */
export type MetricNames = ReadonlySet<string> | null;

export const wanted = (m: Metric, names: MetricNames): boolean =>
  names === null || m.sampleNames().some((n) => names.has(n));

/** One labelled series; `text` is its sample-line prefix (`name{labels} `), built once because a scrape renders
 * every series and rebuilding label text each time was most of a scrape's garbage. */
interface Series<T> {
  labels: Labels;
  value: T;
  text: string;
}

abstract class Family<T> implements Metric {
  protected readonly series = new Map<string, Series<T>>();
  readonly #header: string;

  constructor(readonly name: string, readonly help: string, readonly type: "counter" | "gauge" | "histogram") {
    this.#header = `# HELP ${name} ${help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}\n# TYPE ${name} ${type}\n`;
  }

  protected get(labels: Labels, init: (labels: Labels) => T): T {
    const key = keyOf(labels);
    let s = this.series.get(key);
    if (!s) {
      s = { labels: { ...labels }, value: init(labels), text: `${this.name}${labelText(labels)} ` };
      this.series.set(key, s);
    }
    return s.value;
  }

  protected header(): string {
    return this.#header;
  }

  sampleNames(): string[] {
    return this.type === "histogram"
      ? [this.name, `${this.name}_bucket`, `${this.name}_sum`, `${this.name}_count`]
      : [this.name];
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
    for (const { text, value } of this.series.values()) out += `${text}${formatNumber(value.v)}\n`;
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
    for (const { text, value } of this.series.values()) out += `${text}${formatNumber(value.v)}\n`;
    return out;
  }
}

/** A histogram series: its counts, and the prefixes of its bucket, sum and count lines (see Series.text). */
interface HistogramValue {
  counts: number[];
  sum: number;
  count: number;
  bucketText: string[];
  sumText: string;
  countText: string;
}

export class Histogram extends Family<HistogramValue> {
  constructor(name: string, help: string, readonly buckets: number[]) {
    super(name, help, "histogram");
  }
  observe(x: number, labels: Labels = {}): void {
    const s = this.get(labels, (l) => ({
      counts: this.buckets.map(() => 0),
      sum: 0,
      count: 0,
      bucketText: [...this.buckets.map(formatNumber), "+Inf"].map((le) =>
        `${this.name}_bucket${labelText(l, ["le", le])} `
      ),
      sumText: `${this.name}_sum${labelText(l)} `,
      countText: `${this.name}_count${labelText(l)} `,
    }));
    for (let i = 0; i < this.buckets.length; i++) if (x <= this.buckets[i]) s.counts[i]++;
    s.sum += x;
    s.count++;
  }
  count(labels: Labels = {}): number {
    return this.series.get(keyOf(labels))?.value.count ?? 0;
  }
  render(): string {
    let out = this.header();
    for (const { value: v } of this.series.values()) {
      for (let i = 0; i < this.buckets.length; i++) out += `${v.bucketText[i]}${v.counts[i]}\n`;
      out += `${v.bucketText[this.buckets.length]}${v.count}\n${v.sumText}${
        formatNumber(v.sum)
      }\n${v.countText}${v.count}\n`;
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
  render(names: MetricNames = null): string {
    let out = "";
    for (const m of this.metrics) if (wanted(m, names)) out += m.render();
    return out;
  }
}

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
