// Logit bias and penalties against hand-computed logits. Values are chosen to be exact in float32, so the
// expectations are exact too.
import { describe, expect, it } from "vitest";
import { TwinSampler } from "../helpers/twin-sampler.ts";
import { applyLogitBias, applyPenalties, TokenHistory } from "../../runtime/sampling/penalties.ts";
import { SequenceSampler } from "../../runtime/sampling/sampler.ts";

const row = (...xs: number[]) => Float32Array.from(xs);
const adjusted = (s: SequenceSampler, logits: Float32Array, gen: number[]) => Array.from(s.adjustLogits(logits, gen));

describe("logit bias", () => {
  it("adds the bias to the named ids only", () => {
    const r = row(1, 2, 3);
    applyLogitBias(r, Int32Array.of(0, 2), Float32Array.of(5, -1.5));
    expect(Array.from(r)).toEqual([6, 2, 1.5]);
    const s = new TwinSampler({ logitBias: { 0: 5, 2: -1.5 } }, 3);
    expect(adjusted(s, row(1, 2, 3), [])).toEqual([6, 2, 1.5]);
  });

  it("can change the greedy choice", () => {
    const s = new TwinSampler({ temperature: 0, logitBias: { 0: 2 } }, 3);
    expect(s.sample(row(1, 2, 0), [], 0).token).toBe(0);
  });
});

describe("penalties", () => {
  it("repetition: prompt ∪ generated, positive ÷ r, negative × r, once per distinct id", () => {
    const s = new TwinSampler({ repetitionPenalty: 2 }, 5, [0, 0]);
    // id 0 (prompt) 2 → 1; id 1 (generated twice) −2 → −4, not −8; ids 2, 3 untouched; id 4 seen, 0 stays 0
    expect(adjusted(s, row(2, -2, 4, -1, 0), [1, 1, 4])).toEqual([1, -4, 4, -1, 0]);
  });

  it("frequency and presence: generated tokens only, f × count + p", () => {
    const s = new TwinSampler({ frequencyPenalty: 0.5, presencePenalty: 0.25 }, 4, [0]);
    // id 1: −2 − 0.5·2 − 0.25 = −3.25; id 3: −1 − 0.5 − 0.25 = −1.75; id 0 only in the prompt: untouched
    expect(adjusted(s, row(2, -2, 4, -1), [1, 3, 1])).toEqual([2, -3.25, 4, -1.75]);
  });

  it("negative penalties reward repeats", () => {
    const s = new TwinSampler({ frequencyPenalty: -1, presencePenalty: -0.5 }, 2);
    expect(adjusted(s, row(0, 0), [1, 1])).toEqual([0, 2.5]);
  });

  it("applies bias, then repetition, then frequency, then presence", () => {
    const s = new TwinSampler({
      logitBias: { 1: 1, 2: 0.5 },
      repetitionPenalty: 2,
      frequencyPenalty: 0.5,
      presencePenalty: 0.25,
    }, 3);
    // id 1: (3 + 1) / 2 − 0.5·2 − 0.25 = 0.75 (penalties before bias would give 1.25)
    // id 2: (−1 + 0.5) × 2 − 0.5 − 0.25 = −1.75
    expect(adjusted(s, row(7, 3, -1), [1, 2, 1])).toEqual([7, 0.75, -1.75]);
  });

  it("does not modify the caller's logits, and returns them untouched when nothing applies", () => {
    const logits = row(2, -2, 4);
    const s = new TwinSampler({ repetitionPenalty: 2, logitBias: { 0: 1 } }, 3);
    s.sample(logits, [1], 0);
    expect(Array.from(logits)).toEqual([2, -2, 4]);
    const plain = new TwinSampler({}, 3);
    expect(plain.adjustLogits(logits, [1])).toBe(logits);
  });

  it("penalised greedy decoding moves off a repeated token", () => {
    const s = new TwinSampler({ temperature: 0, presencePenalty: 1 }, 3);
    const logits = row(1, 1.5, 0);
    expect(s.sample(logits, [], 0).token).toBe(1);
    expect(s.sample(logits, [1], 1).token).toBe(0);
  });
});

describe("TokenHistory", () => {
  const countsOf = (h: TokenHistory) => Object.fromEntries([...h.counts].sort((a, b) => a[0] - b[0]));

  it("counts incrementally and recounts after a rollback or a changed token", () => {
    const h = new TokenHistory([9, 8], true);
    h.update([1, 2]);
    h.update([1, 2, 2]);
    expect(countsOf(h)).toEqual({ 1: 1, 2: 2 });
    expect([...h.seen].sort()).toEqual([1, 2, 8, 9]);
    h.update([1]); // shorter: recount
    expect(countsOf(h)).toEqual({ 1: 1 });
    expect([...h.seen].sort()).toEqual([1, 8, 9]);
    h.update([3, 4]); // last counted token changed: recount
    expect(countsOf(h)).toEqual({ 3: 1, 4: 1 });
    h.update([]);
    expect(countsOf(h)).toEqual({});
  });

  it("gives the same adjusted row however the generated list grows", () => {
    const gen = [3, 1, 3, 3, 0, 2, 1];
    const values = { presencePenalty: 0.3, frequencyPenalty: 0.7, repetitionPenalty: 1.3 };
    const logits = row(0.5, -1.25, 2, 3.5, -0.75);
    const once = new TokenHistory([4], true);
    once.update(gen);
    const a = Float32Array.from(logits);
    applyPenalties(a, once, values);
    const stepwise = new TokenHistory([4], true);
    for (let i = 0; i <= gen.length; i++) stepwise.update(gen.slice(0, i));
    const b = Float32Array.from(logits);
    applyPenalties(b, stepwise, values);
    expect(Array.from(b)).toEqual(Array.from(a));
    // and against the formula, computed in float64 and rounded once like the implementation
    const count = (id: number) => gen.filter((g) => g === id).length;
    const expected = Array.from(logits, (x, id) => {
      if (id === 4 || count(id) > 0) x = x > 0 ? x / 1.3 : x * 1.3;
      x = Math.fround(x);
      return count(id) > 0 ? Math.fround(x - (0.7 * count(id) + 0.3)) : x;
    });
    expect(Array.from(a)).toEqual(expected);
  });
});
