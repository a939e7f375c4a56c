// top-k / top-p / min-p keep exactly the documented set. Rule (runtime/sampling/select.ts): tokens are
// ordered by probability, higher first, lower id on ties; top-k keeps the first k; top-p keeps the shortest
// prefix with mass ≥ top_p × (mass left after top-k); min-p keeps p ≥ min_p × p_max.
import { describe, expect, it } from "vitest";
import { TwinSampler } from "../helpers/twin-sampler.ts";
import { Rng } from "../../runtime/sampling/rng.ts";
import { SequenceSampler } from "../../runtime/sampling/sampler.ts";
import { selectTopCount, selectTopCountHeap, selectTopMass } from "../../runtime/sampling/select.ts";
import { keptReference, softmax, type Truncation } from "./reference.ts";

const kept = (p: Truncation & { temperature?: number }, logits: number[], gen: number[] = []) =>
  Array.from(new TwinSampler({ ...p, seed: 1 }, logits.length).keptTokens(Float32Array.from(logits), gen));
const sorted = (a: ArrayLike<number>) => Array.from(a).sort((x, y) => x - y);

describe("select.ts on exact (dyadic) weights", () => {
  const w = Float64Array.of(0.125, 0.5, 0.125, 0.25); // order: 1, 3, 0, 2
  const ids = () => Int32Array.of(0, 1, 2, 3);

  it("selectTopCount and the heap keep the first k of the order, ties by lower id", () => {
    for (const [k, want] of [[1, [1]], [2, [1, 3]], [3, [0, 1, 3]], [4, [0, 1, 2, 3]]] as const) {
      const idx = ids();
      selectTopCount(idx, 4, w, k);
      expect(sorted(idx.subarray(0, k))).toEqual(want);
      const out = new Int32Array(4);
      selectTopCountHeap(w, 4, k, out);
      expect(sorted(out.subarray(0, k))).toEqual(want);
    }
  });

  it("selectTopMass returns the shortest prefix reaching the target (mass exactly at the target counts)", () => {
    for (
      const [target, want] of [
        [0.5, [1]],
        [0.5000001, [1, 3]],
        [0.75, [1, 3]],
        [0.875, [0, 1, 3]],
        [0.9, [0, 1, 2, 3]],
        [1, [0, 1, 2, 3]],
      ] as const
    ) {
      const idx = ids();
      const m = selectTopMass(idx, 4, w, target);
      expect(sorted(idx.subarray(0, m)), `target ${target}`).toEqual(want);
    }
  });

  it("selectTopMass breaks ties by lower id", () => {
    const flat = Float64Array.of(0.25, 0.25, 0.25, 0.25);
    for (const [target, want] of [[0.25, [0]], [0.5, [0, 1]], [0.51, [0, 1, 2]]] as const) {
      const idx = Int32Array.of(3, 1, 0, 2);
      const m = selectTopMass(idx, 4, flat, target);
      expect(sorted(idx.subarray(0, m))).toEqual(want);
    }
  });

  it("selections agree with sorting on large random inputs with many ties", () => {
    const rng = new Rng(7);
    for (let trial = 0; trial < 30; trial++) {
      const n = 1 + (rng.nextU32() % 3000);
      const wr = Float64Array.from({ length: n }, () => (rng.nextU32() % 16) / 16); // many exact ties and zeros
      const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => wr[b] - wr[a] || a - b);
      const k = 1 + (rng.nextU32() % n);
      const idx = Int32Array.from({ length: n }, (_, i) => i);
      selectTopCount(idx, n, wr, k);
      expect(sorted(idx.subarray(0, k))).toEqual(sorted(order.slice(0, k)));
      const out = new Int32Array(n);
      selectTopCountHeap(wr, n, k, out);
      expect(sorted(out.subarray(0, k))).toEqual(sorted(order.slice(0, k)));
      // dyadic weights: every partial sum is exact, so the reference prefix is unambiguous
      const total = order.reduce((a, i) => a + wr[i], 0);
      const target = (total * (rng.nextU32() % 17)) / 16;
      if (target <= 0) continue;
      let acc = 0, m = 0;
      while (acc < target) acc += wr[order[m++]];
      const idx2 = Int32Array.from({ length: n }, (_, i) => n - 1 - i);
      const got = selectTopMass(idx2, n, wr, target);
      expect(sorted(idx2.subarray(0, got))).toEqual(sorted(order.slice(0, m)));
    }
  });
});

describe("SequenceSampler truncation", () => {
  it("top-k keeps exactly k, ties at the boundary by lower id", () => {
    const logits = [1, 3, 3, 2, 3, 0];
    expect(kept({ topK: 1 }, logits)).toEqual([1]);
    expect(kept({ topK: 2 }, logits)).toEqual([1, 2]);
    expect(kept({ topK: 3 }, logits)).toEqual([1, 2, 4]);
    expect(kept({ topK: 4 }, logits)).toEqual([1, 2, 3, 4]);
    expect(kept({ topK: -1 }, logits)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(kept({ topK: 6 }, logits)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it("top-k selects the same set with the heap (small k) and with quickselect (large k)", () => {
    const rng = new Rng(3);
    const logits = Array.from({ length: 5000 }, () => rng.nextU32() % 40); // heavy ties
    for (const k of [1, 7, 256, 257, 1000, 4999]) {
      expect(kept({ topK: k }, logits)).toEqual(keptReference(softmax(logits), { topK: k }).kept);
    }
  });

  it("top-p keeps the smallest set with mass ≥ p, ties by lower id", () => {
    const flat = [0, 0, 0, 0];
    expect(kept({ topP: 0.25 }, flat)).toEqual([0]);
    expect(kept({ topP: 0.5 }, flat)).toEqual([0, 1]);
    expect(kept({ topP: 0.51 }, flat)).toEqual([0, 1, 2]);
    expect(kept({ topP: 1 }, flat)).toEqual([0, 1, 2, 3]);
    // probabilities ≈ 0.6439, 0.2369, 0.0871, 0.0321: mass 0.881 after two, 0.968 after three
    const logits = [3, 2, 1, 0];
    expect(kept({ topP: 0.6 }, logits)).toEqual([0]);
    expect(kept({ topP: 0.65 }, logits)).toEqual([0, 1]);
    expect(kept({ topP: 0.88 }, logits)).toEqual([0, 1]);
    expect(kept({ topP: 0.89 }, logits)).toEqual([0, 1, 2]);
    expect(kept({ topP: 0.97 }, logits)).toEqual([0, 1, 2, 3]);
  });

  it("top-p works on the temperature-scaled distribution", () => {
    // at T = 0.5 the probabilities are ≈ 0.8650, 0.1171, 0.0158, 0.0021
    expect(kept({ topP: 0.88, temperature: 0.5 }, [3, 2, 1, 0])).toEqual([0, 1]);
    expect(kept({ topP: 0.86, temperature: 0.5 }, [3, 2, 1, 0])).toEqual([0]);
  });

  it("top-p measures mass within what top-k left", () => {
    const flat8 = new Array(8).fill(0);
    expect(kept({ topP: 0.5 }, flat8)).toEqual([0, 1, 2, 3]);
    expect(kept({ topK: 4, topP: 0.5 }, flat8)).toEqual([0, 1]);
  });

  it("min-p keeps p ≥ min_p × p_max, relative to the top token", () => {
    const ln = Math.log;
    const logits = [2, 2 + ln(0.1) + 1e-3, 2 + ln(0.1) - 1e-3, 5 - 10, 2];
    expect(kept({ minP: 0.1 }, logits)).toEqual([0, 1, 4]);
    expect(kept({ minP: 1 }, logits)).toEqual([0, 4]); // ties with the top survive (≥ at the threshold)
    expect(kept({ minP: 1, topK: 3 }, logits)).toEqual([0, 4]); // same rule after another filter
    expect(kept({ minP: 0.1, topK: 2 }, logits)).toEqual([0, 4]);
    expect(kept({ minP: 0.1, topP: 0.3 }, logits)).toEqual([0]);
  });

  it("greedy keeps only the argmax, the first on ties, whatever the filters say", () => {
    expect(kept({ temperature: 0, topK: 3, topP: 0.2, minP: 0.9 }, [1, 5, 5, 2])).toEqual([1]);
  });

  it("matches the sorting reference on random rows with ties (property test)", () => {
    const rng = new Rng(2024);
    let checked = 0;
    for (let trial = 0; trial < 400; trial++) {
      const V = 2 + (rng.nextU32() % 60);
      const logits = Array.from({ length: V }, () => ((rng.nextU32() % 9) - 4) * 0.75);
      const T = [0.5, 1, 1.7][rng.nextU32() % 3];
      const t: Truncation = {
        topK: rng.nextFloat() < 0.5 ? 1 + (rng.nextU32() % V) : 0,
        topP: rng.nextFloat() < 0.6 ? 0.05 + 0.95 * rng.nextFloat() : 1,
        minP: rng.nextFloat() < 0.4 ? rng.nextFloat() * 0.5 : 0,
      };
      const ref = keptReference(softmax(logits, T), t);
      if (ref.margin < 1e-9) continue; // a cumulative mass within rounding of the target: either answer is right
      expect(kept({ ...t, temperature: T }, logits), JSON.stringify({ logits, T, t })).toEqual(ref.kept);
      checked++;
    }
    expect(checked).toBeGreaterThan(350);
  });

  it("never draws outside the kept set", () => {
    const logits = Float32Array.from([0.5, 2, 2, -1, 1.5, 0, 2, 1]);
    const p = { topK: 5, topP: 0.8, minP: 0.3, seed: 99 };
    const s = new TwinSampler(p, 8);
    const allowed = new Set(s.keptTokens(logits, []));
    const seen = new Set<number>();
    for (let step = 0; step < 3000; step++) seen.add(s.sample(logits, [], step).token);
    expect(sorted([...seen])).toEqual(sorted([...allowed]));
  });
});
