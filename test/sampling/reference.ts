// Slow, obviously-correct references for the sampler tests: sort objects, cumulative sums, full scans.
import { counterHash, splitSeed, uniformFromHash } from "../../runtime/sampling/counter-hash.ts";

/** χ² 0.999 quantiles for 1..15 degrees of freedom (scipy.stats.chi2.ppf(0.999, df)). */
export const CHI2_999 = [
  NaN,
  10.828,
  13.816,
  16.266,
  18.467,
  20.515,
  22.458,
  24.322,
  26.124,
  27.877,
  29.588,
  31.264,
  32.909,
  34.528,
  36.123,
  37.697,
];

export function softmax(logits: ArrayLike<number>, temperature = 1): number[] {
  const xs = Array.from(logits, (x) => x / temperature);
  const max = Math.max(...xs);
  const e = xs.map((x) => Math.exp(x - max));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

/** Tokens in the sampler's order: higher probability first, lower id on ties. */
export function ranked(probs: readonly number[]): number[] {
  return probs.map((p, id) => ({ p, id })).sort((a, b) => b.p - a.p || a.id - b.id).map((t) => t.id);
}

export interface Truncation {
  topK?: number;
  topP?: number;
  minP?: number;
}

/**
 * The kept set per the documented rule, by sorting: top-k = first k of the order; top-p = shortest prefix of
 * what is left with mass ≥ p × its mass; min-p = p ≥ min_p × p_max. Also returns the smallest gap between a
 * cumulative mass and a top-p target, so callers can skip cases that sit on a rounding knife-edge.
 */
export function keptReference(probs: readonly number[], t: Truncation): { kept: number[]; margin: number } {
  let order = ranked(probs);
  if (t.topK && t.topK > 0) order = order.slice(0, t.topK);
  let margin = Infinity;
  if (t.topP !== undefined && t.topP < 1) {
    const mass = order.reduce((a, id) => a + probs[id], 0);
    const target = t.topP * mass;
    let acc = 0, m = 0;
    for (const id of order) {
      acc += probs[id];
      margin = Math.min(margin, Math.abs(acc - target));
      m++;
      if (acc >= target) break;
    }
    order = order.slice(0, m);
  }
  if (t.minP) {
    const pmax = Math.max(...probs);
    order = order.filter((id) => probs[id] >= t.minP! * pmax);
  }
  return { kept: order.sort((a, b) => a - b), margin };
}

/** The exponential race written out naively: argmax over `kept` of p_i / −ln u(seed, step, i). */
export function raceReference(probs: readonly number[], kept: readonly number[], seed: number, step: number): number {
  const [lo, hi] = splitSeed(seed);
  let best = -1, bestKey = -Infinity;
  for (const i of kept) {
    const key = probs[i] / -Math.log(uniformFromHash(counterHash(lo, hi, step, i)));
    if (key > bestKey) {
      bestKey = key;
      best = i;
    }
  }
  return best;
}

/** Pearson's χ² of observed counts against expected probabilities over the listed categories. */
export function chiSquare(counts: readonly number[], probs: readonly number[], categories: readonly number[]): number {
  const n = categories.reduce((a, c) => a + counts[c], 0);
  const mass = categories.reduce((a, c) => a + probs[c], 0);
  return categories.reduce((a, c) => {
    const e = (n * probs[c]) / mass;
    return a + (counts[c] - e) ** 2 / e;
  }, 0);
}
