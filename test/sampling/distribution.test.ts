// Empirical distributions of the exponential race against the expected ones (Pearson χ² against the 0.999
// quantile). Each test draws 24,000 tokens from one seeded sampler at steps 0, 1, 2, … so it is
// deterministic; a sampler drawing from the wrong distribution fails by a wide margin (last test).
import { describe, expect, it } from "vitest";
import { TwinSampler } from "../helpers/twin-sampler.ts";
import type { SamplingParams } from "../../runtime/sampling/params.ts";
import { SequenceSampler } from "../../runtime/sampling/sampler.ts";
import { CHI2_999, chiSquare, keptReference, softmax, type Truncation } from "./reference.ts";

const LOGITS = [1.2, -0.3, 0.8, 2.0, -1.5, 0.1, 1.7, 0.4];
const N = 24_000;

function draw(params: SamplingParams, logits = LOGITS, seed = 20240601): number[] {
  const s = new TwinSampler({ ...params, seed }, logits.length);
  const row = Float32Array.from(logits);
  const counts = new Array(logits.length).fill(0);
  for (let step = 0; step < N; step++) counts[s.sample(row, [], step).token]++;
  return counts;
}

/** Draws, then checks χ² over the kept set and zero counts outside it; returns the statistic. */
function fits(
  params: Truncation & { temperature?: number; logitBias?: Record<number, number> },
  expectedLogits = LOGITS,
): number {
  const probs = softmax(expectedLogits, params.temperature ?? 1);
  const { kept } = keptReference(probs, params);
  const counts = draw(params);
  for (let i = 0; i < counts.length; i++) if (!kept.includes(i)) expect(counts[i], `token ${i} is truncated`).toBe(0);
  const chi = chiSquare(counts, probs, kept);
  expect(kept.length).toBeGreaterThan(1);
  expect(chi, `counts ${counts}`).toBeLessThan(CHI2_999[kept.length - 1]);
  return chi;
}

describe("sampled distribution (χ², 24k draws, 8 tokens)", () => {
  it("plain sampling at temperature 1 follows softmax(logits)", () => {
    fits({});
  });

  it("temperature 0.5 follows softmax(logits / 0.5)", () => {
    fits({ temperature: 0.5 });
  });

  it("temperature 2 follows softmax(logits / 2)", () => {
    fits({ temperature: 2 });
  });

  it("top-k renormalises over the k most likely", () => {
    fits({ topK: 4 }); // keeps 3, 6, 0, 2
  });

  it("top-p renormalises over the nucleus", () => {
    fits({ topP: 0.9 }); // cumulative 0.336, 0.586, 0.737, 0.839, 0.907: keeps 3, 6, 0, 2, 7
  });

  it("min-p renormalises over the tokens above the threshold", () => {
    fits({ minP: 0.12 }); // threshold 0.12 × e^2 ≈ 0.887 on exp(logit): keeps all but 1 and 4
  });

  it("all three together at temperature 0.8", () => {
    fits({ temperature: 0.8, topK: 6, topP: 0.95, minP: 0.05 });
  });

  it("logit bias shifts the distribution like a changed logit", () => {
    const counts = draw({ logitBias: { 4: 3, 3: -1 } });
    const shifted = LOGITS.map((x, i) => x + (i === 4 ? 3 : i === 3 ? -1 : 0));
    const all = LOGITS.map((_, i) => i);
    expect(chiSquare(counts, softmax(shifted), all)).toBeLessThan(CHI2_999[7]);
  });

  it("a near-uniform row over 4096 tokens fills 16 equal-mass bins evenly", () => {
    // Many tokens with equal mass per bin exercises the race beyond a toy vocabulary.
    const V = 4096;
    const logits = Array.from({ length: V }, (_, i) => (i % 2 === 0 ? 0 : Math.log(3)));
    const s = new TwinSampler({ seed: 5 }, V);
    const row = Float32Array.from(logits);
    const bins = new Array(16).fill(0);
    for (let step = 0; step < N / 3; step++) bins[s.sample(row, [], step).token % 16]++;
    const probs = softmax(logits);
    const binProbs = bins.map((_, b) => probs.reduce((a, p, i) => (i % 16 === b ? a + p : a), 0));
    expect(chiSquare(bins, binProbs, bins.map((_, b) => b))).toBeLessThan(CHI2_999[15]);
  });

  it("has the power to reject a wrong distribution", () => {
    const counts = draw({}); // temperature 1 draws …
    const wrong = softmax(LOGITS, 0.8); // … tested against temperature 0.8
    expect(chiSquare(counts, wrong, LOGITS.map((_, i) => i))).toBeGreaterThan(CHI2_999[7] * 3);
  });
});
