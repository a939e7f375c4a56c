// The native sampler's full-row loops against the spec, on the AVX2 loops and on their scalar twins (CPU feature
// masks 1 and 0). The exponential (runtime/sampling/exp-weight.ts, the spec of kernels/sample_exp.h) is within a few
// ulp of Math.exp over [−700, 0], 0 below it and for NaN / −∞; the native weights and their total
// (gust_sample_weights) are the spec's bit for bit; the argmax is the first maximum, NaN never winning.
import { afterAll, describe, expect, it } from "vitest";
import { createBackend } from "../../ffi/backend.ts";
import { NativeSampler } from "../../runtime/sampling/native-sampler.ts";
import { SequenceSampler } from "../../runtime/sampling/sampler.ts";
import { expWeight, weightTotal } from "../../runtime/sampling/exp-weight.ts";
import { Rng } from "../../runtime/sampling/rng.ts";
import { randomF32, randomInt } from "../helpers/random.ts";

const backend = createBackend("cpu");
afterAll(() => backend.useCpuFeatures(3));

/** The spec's weights of one row and their total (sampler.ts, through `distribution`'s normalisation: p · total). */
function specWeights(row: Float32Array, T: number): { w: Float64Array; total: number } {
  let best = -Infinity;
  for (const x of row) if (x > best) best = x;
  const w = new Float64Array(row.length);
  if (!(best > -Infinity) || best === Infinity) return { w, total: NaN };
  for (let i = 0; i < row.length; i++) w[i] = expWeight((row[i] - best) / T);
  return { w, total: weightTotal(w) };
}

describe("the sampler's exponential", () => {
  it("stays within 3 ulp of Math.exp over [−700, 0] and gives e^−1 for −1", () => {
    let worst = 0;
    for (let x = -700; x <= 0; x += 0.0137) {
      const want = Math.exp(x);
      worst = Math.max(worst, Math.abs(expWeight(x) - want) / want / Number.EPSILON);
    }
    expect(worst).toBeLessThan(3);
    expect(Math.abs(expWeight(-1) - Math.exp(-1))).toBeLessThan(2 * Number.EPSILON);
    expect(expWeight(0)).toBe(1);
  });

  it("is 0 for NaN, −∞ and below −700", () => {
    for (const x of [NaN, -Infinity, -700.0001, -1e6]) expect(expWeight(x)).toBe(0);
    expect(expWeight(-700)).toBeGreaterThan(0);
  });

  it.each([1, 0])("the native weights equal the spec's bit for bit (CPU feature mask %i)", (mask) => {
    backend.useCpuFeatures(mask);
    const rng = new Rng(21 + mask);
    for (const V of [1, 3, 7, 8, 13, 1000, 4099]) {
      for (const T of [0.3, 0.7, 1, 1.7]) {
        const rows = 3, logits = randomF32(rng, rows * V, 40);
        for (let j = 0; j < V / 10; j++) {
          logits[randomInt(rng, 0, rows * V - 1)] = [-Infinity, NaN, -1e6][j % 3]; // weight 0 (or no maximum)
        }
        if (V === 7) logits.fill(-Infinity, 0, V); // a row with no finite maximum: all 0
        const out = new Float64Array(rows * V), totals = new Float64Array(rows);
        using lb = backend.fromHost(logits), ob = backend.alloc(out.byteLength), tb = backend.alloc(totals.byteLength);
        backend.sampleWeights({ out: ob, totals: tb, logits: lb, numRows: rows, vocab: V, temperature: T });
        backend.download(ob, out);
        backend.download(tb, totals);
        for (let r = 0; r < rows; r++) {
          const { w: want, total } = specWeights(logits.subarray(r * V, (r + 1) * V), T);
          expect(Object.is(totals[r], total), `total of V ${V}, T ${T}, row ${r}: ${totals[r]} vs ${total}`).toBe(true);
          for (let i = 0; i < V; i++) {
            if (!Object.is(out[r * V + i], want[i])) {
              expect(out[r * V + i], `V ${V}, T ${T}, row ${r}, id ${i}`).toBe(want[i]);
            }
          }
        }
      }
    }
  });

  it.each([1, 0])("greedy takes the first maximum, NaN never winning (CPU feature mask %i)", (mask) => {
    backend.useCpuFeatures(mask);
    const cases: [number[], number][] = [
      [[NaN, 1, 3, 3, NaN, 3], 2],
      [[-Infinity, -Infinity, -Infinity], 0], // nothing finite: the first index, as the spec's loop
      [[NaN, NaN, NaN, NaN, NaN, NaN, NaN, NaN, NaN], 0],
      [[0, 0, 0, 5, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 5], 3], // ties across 8-lane blocks
      [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7], 16], // the maximum in the scalar tail
      [[1, Infinity, 2, Infinity], 1],
    ];
    for (const [values, want] of cases) {
      const logits = Float32Array.from(values), V = logits.length, native = new NativeSampler(backend, V);
      using row = backend.borrowHost(logits);
      const sampler = new SequenceSampler({ temperature: 0, seed: 1 }, V);
      const [got] = native.sample(row, 1, [{ sampler, generatedIds: [], step: 0, logitsRow: 0 }]);
      expect(got.token, JSON.stringify(values)).toBe(want);
      expect(sampler.sample(logits, [], 0).token, `spec on ${JSON.stringify(values)}`).toBe(want);
      native.dispose();
    }
  });
});
