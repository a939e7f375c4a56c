// Reported log-probabilities come from the raw logits, whatever the sampling settings.
import { describe, expect, it } from "vitest";
import { TwinSampler } from "../helpers/twin-sampler.ts";
import { logSoftmax } from "../../runtime/sampling/basic.ts";
import { logNormaliser, topLogprobs } from "../../runtime/sampling/logprobs.ts";
import { Rng } from "../../runtime/sampling/rng.ts";
import { forcedResult, SequenceSampler } from "../../runtime/sampling/sampler.ts";

const rng = new Rng(31);
const LOGITS = Float32Array.from({ length: 300 }, () => rng.nextFloat() * 10 - 5);
const RAW = logSoftmax(LOGITS);

describe("logprobs", () => {
  it("are the raw log_softmax of the chosen token under every setting", () => {
    const settings = [
      {},
      { temperature: 0 },
      { temperature: 0.3, topK: 3 },
      { temperature: 1.5, topP: 0.5, minP: 0.1 },
      { logitBias: { 7: 20 }, repetitionPenalty: 1.5, presencePenalty: 1 },
    ];
    for (const p of settings) {
      const s = new TwinSampler({ ...p, seed: 3, logprobs: 0 }, LOGITS.length, [1, 2]);
      for (let step = 0; step < 20; step++) {
        const r = s.sample(LOGITS, [4, 5], step);
        expect(r.logprob, JSON.stringify(p)).toBeCloseTo(RAW[r.token], 10);
        expect(r.topLogprobs).toBeUndefined();
      }
    }
    // the bias really moved the choice, yet the logprob is the unbiased one
    const biased = new TwinSampler({ temperature: 0, logitBias: { 7: 20 }, logprobs: 0 }, LOGITS.length).sample(
      LOGITS,
      [],
      0,
    );
    expect(biased.token).toBe(7);
    expect(biased.logprob).toBeCloseTo(RAW[7], 10);
  });

  it("come from the raw row when the draw is from a masked copy", () => {
    const masked = Float32Array.from(LOGITS, (x, i) => (i % 2 === 0 ? x : -Infinity));
    for (const p of [{ temperature: 0 }, { temperature: 1 }, { temperature: 0.6, topP: 0.9 }]) {
      const s = new TwinSampler({ ...p, seed: 2, logprobs: 0 }, LOGITS.length);
      for (let step = 0; step < 10; step++) {
        const r = s.sample(masked, [], step, LOGITS);
        expect(r.token % 2).toBe(0);
        expect(r.logprob).toBeCloseTo(RAW[r.token], 10);
      }
    }
  });

  it("are not computed unless asked for (NaN), and asking does not change the token", () => {
    for (const p of [{ temperature: 0 }, { temperature: 0.8, topP: 0.9 }, { temperature: 1 }]) {
      const quiet = new TwinSampler({ ...p, seed: 5 }, LOGITS.length);
      const asked = new TwinSampler({ ...p, seed: 5, logprobs: 0 }, LOGITS.length);
      for (let step = 0; step < 20; step++) {
        const a = quiet.sample(LOGITS, [], step), b = asked.sample(LOGITS, [], step);
        expect(a.token).toBe(b.token);
        expect(a.logprob).toBeNaN();
        expect(b.logprob).toBeCloseTo(RAW[b.token], 10);
      }
    }
    expect(forcedResult(LOGITS, 3, null).logprob).toBeNaN();
    expect(forcedResult(LOGITS, 3, 0).logprob).toBeCloseTo(RAW[3], 10);
  });

  it("return the n most likely raw alternatives, most likely first", () => {
    const order = Array.from(RAW.keys()).sort((a, b) => RAW[b] - RAW[a] || a - b);
    for (const n of [1, 5, 20]) {
      const r = new TwinSampler({ logprobs: n, temperature: 0.7, seed: 1 }, LOGITS.length).sample(LOGITS, [], 0);
      expect(r.topLogprobs!.map((t) => t.token)).toEqual(order.slice(0, n));
      r.topLogprobs!.forEach((t) => expect(t.logprob).toBeCloseTo(RAW[t.token], 10));
    }
  });

  it("rank equal logits by lower id and never rank NaN", () => {
    const row = Float32Array.of(1, 3, NaN, 3, 2, 3);
    const logZ = logNormaliser(Float32Array.of(1, 3, 3, 2, 3));
    expect(topLogprobs(row, logZ, 4).map((t) => t.token)).toEqual([1, 3, 5, 4]);
    expect(topLogprobs(Float32Array.of(0, 0), 0, 5).map((t) => t.token)).toEqual([0, 1]); // n > vocabulary
  });

  it("logNormaliser is stable for large logits", () => {
    expect(logNormaliser(Float32Array.of(1000, 1000))).toBeCloseTo(1000 + Math.log(2), 10);
    expect(logNormaliser(Float32Array.of(-Infinity, 0))).toBe(0);
  });

  it("forcedResult reports a forced token's raw logprob and alternatives", () => {
    const r = forcedResult(LOGITS, 123, 3);
    expect(r.token).toBe(123);
    expect(r.logprob).toBeCloseTo(RAW[123], 10);
    expect(r.topLogprobs).toHaveLength(3);
    expect(forcedResult(LOGITS, 0, 0).topLogprobs).toBeUndefined();
    expect(() => forcedResult(LOGITS, 300, 0)).toThrow(/outside the vocabulary/);
  });
});
