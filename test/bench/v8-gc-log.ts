// V8's --trace-gc lines (the Deno gateway's collections), summed by kind, and its --trace-gc-nvp lines. A --trace-gc line reads
//   [pid:0x…]  9743 ms: Scavenge 37.2 (51.8) -> 27.3 (53.3) MB, pooled: 0.0 MB, 3.57 / 0.00 ms (average mu = …
// where "3.57" is the pause on the main thread.
import { percentile } from "./percentile.ts";

export interface PauseSummary {
  kind: string;
  count: number;
  p50Ms: number;
  maxMs: number;
  over5: number;
}

export function v8Pauses(log: string): PauseSummary[] {
  const out: PauseSummary[] = [];
  for (const kind of ["Scavenge", "Minor Mark-Sweep", "Mark-Compact"]) {
    const pauses = [
      ...log.matchAll(new RegExp(`ms: (?:[\\w-]+ )?${kind} [^\\n]*?MB, pooled: [\\d.]+ MB, ([\\d.]+) /`, "g")),
    ].map((m) => Number(m[1]));
    if (pauses.length) {
      out.push({
        kind,
        count: pauses.length,
        p50Ms: percentile(pauses, 50),
        maxMs: Math.max(...pauses),
        over5: pauses.filter((p) => p > 5).length,
      });
    }
  }
  return out;
}

/** One collection's statistics as V8's --trace-gc-nvp prints them: `GC: {"pause":1.08,"gc":"s",…}` per line
 * ("s" a scavenge, "mc" a mark-compact); the byte counts used by the survival bench. */
export interface V8Collection {
  gc: string;
  pause: number;
  allocated: number;
  promoted: number;
  new_space_survived: number;
}

export function v8Collections(log: string): V8Collection[] {
  return [...log.matchAll(/GC: (\{.*\})/g)].map((m) => JSON.parse(m[1]) as V8Collection);
}
