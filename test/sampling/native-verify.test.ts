// The native speculative verification (gust_verify_drafts through NativeSampler.verify) against its spec,
// verifyDrafts (runtime/eagle/verify.ts): the same seeds, target rows and draft distributions give the same accepted
// count and next token for every proposal, over the sampler's parameter cases (greedy, temperature, top-k/p, min-p,
// penalties that see the accepted drafts, logit bias, padding ids), 1 to 4 drafts, 512- and 131,072-token rows.
import { afterAll, describe, expect, it } from "vitest";
import { createBackend } from "../../ffi/backend.ts";
import { drawFrom, Lane, laneUniform, verifyDrafts, type VerifyOutcome } from "../../runtime/eagle/verify.ts";
import { NativeSampler } from "../../runtime/sampling/native-sampler.ts";
import type { SamplingParams } from "../../runtime/sampling/params.ts";
import { Rng } from "../../runtime/sampling/rng.ts";
import { SequenceSampler } from "../../runtime/sampling/sampler.ts";
import { randomF32, randomInt } from "../helpers/random.ts";
import { softmax } from "./reference.ts";

const backend = createBackend("cpu");
const natives: NativeSampler[] = [];
afterAll(() => natives.forEach((n) => n.dispose()));

const CASES: SamplingParams[] = [
  { temperature: 0 },
  { temperature: 1 },
  { temperature: 0.7, topP: 0.9 },
  { temperature: 1.3, topK: 5 },
  { temperature: 0.9, minP: 0.1 },
  { temperature: 1, presencePenalty: 0.5, frequencyPenalty: 0.3, repetitionPenalty: 1.2 },
  { temperature: 1, logitBias: { 40: 3, 41: -2, 300: 5 } },
  { temperature: 1.5, topK: 40, topP: 0.95, minP: 0.02, repetitionPenalty: 0.9 },
];

interface Proposal {
  sampler: SequenceSampler;
  generated: number[];
  step: number;
  drafts: number[];
  draftProbs: (Float64Array | null)[];
  /** Index of each row (0..k) in the logits. */
  rows: number[];
}

/** Proposals whose drafts come from a draft distribution near the target's (so both outcomes happen). */
function proposals(params: SamplingParams, V: number, count: number, logits: Float32Array, seed: number) {
  const rng = new Rng(seed), numRows = logits.length / V, out: Proposal[] = [];
  for (let j = 0; j < count; j++) {
    const promptIds = Array.from({ length: 6 }, () => randomInt(rng, 0, V - 1));
    const sampler = new SequenceSampler({ ...params, seed: seed * 1000 + j }, V, promptIds);
    const k = randomInt(rng, 1, 4), step = randomInt(rng, 0, 20);
    const generated = Array.from({ length: step }, () => randomInt(rng, 0, V - 1));
    const rows = Array.from({ length: k + 1 }, () => randomInt(rng, 0, numRows - 1));
    const drafts: number[] = [], draftProbs: (Float64Array | null)[] = [];
    for (let i = 0; i < k; i++) {
      const row = logits.subarray(rows[i] * V, (rows[i] + 1) * V);
      const noisy = Array.from(row, (x) => x + (rng.nextFloat() - 0.5));
      const q = params.temperature === 0 ? null : Float64Array.from(softmax(noisy, params.temperature));
      draftProbs.push(q);
      // greedy drafts: the row's argmax or a neighbour of it, so both a match and a mismatch occur
      const top = noisy.indexOf(Math.max(...noisy));
      drafts.push(q ? drawFrom(q, laneUniform(sampler.seed, step + i, V, Lane.propose)) : (top + (j % 2)) % V);
    }
    out.push({ sampler, generated, step, drafts, draftProbs, rows });
  }
  return out;
}

function specOutcomes(ps: Proposal[], logits: Float32Array, V: number): VerifyOutcome[] {
  return ps.map((p) =>
    verifyDrafts({
      drafts: p.drafts,
      draftProbs: p.draftProbs,
      rows: (i) => logits.subarray(p.rows[i] * V, (p.rows[i] + 1) * V),
      sampler: p.sampler,
      generated: p.generated,
      step: p.step,
    })
  );
}

function nativeOutcomes(ps: Proposal[], logits: Float32Array, V: number, vocabLimit = V): VerifyOutcome[] {
  const native = new NativeSampler(backend, V);
  natives.push(native);
  using buf = backend.borrowHost(logits);
  return native.verify(
    buf,
    logits.length / V,
    ps.map((p) => ({
      drafts: p.drafts,
      draftProbs: p.draftProbs,
      rows: p.rows.map((logitsRow, i) => ({
        sampler: p.sampler,
        generatedIds: [...p.generated, ...p.drafts.slice(0, i)],
        step: p.step + i,
        logitsRow,
      })),
    })),
    vocabLimit,
  );
}

describe("native speculative verification ≡ verifyDrafts", () => {
  it.each(CASES)("the same accepted counts and next tokens over 512 ids (%j)", (params) => {
    const V = 512, logits = randomF32(new Rng(7), 6 * V, 4);
    const ps = proposals(params, V, 200, logits, 11);
    const spec = specOutcomes(ps, logits, V);
    expect(nativeOutcomes(ps, logits, V)).toEqual(spec);
    // both outcomes are exercised: some proposals keep every draft, some reject one
    expect(spec.some((o, j) => o.accepted === ps[j].drafts.length)).toBe(true);
    expect(spec.some((o, j) => o.accepted < ps[j].drafts.length)).toBe(true);
  });

  it("holds over 131,072 ids", () => {
    const V = 131_072, logits = randomF32(new Rng(8), 3 * V, 12);
    for (const params of [{ temperature: 0.7, topP: 0.95 }, { temperature: 1, repetitionPenalty: 1.1, topK: 50 }]) {
      const ps = proposals(params, V, 6, logits, 12);
      expect(nativeOutcomes(ps, logits, V)).toEqual(specOutcomes(ps, logits, V));
    }
  });

  it("holds with padding ids (vocabulary limit): rows beyond it are −∞ on the spec's side", () => {
    const V = 512, limit = 300, logits = randomF32(new Rng(9), 4 * V, 4);
    const ps = proposals({ temperature: 1.2 }, V, 100, logits, 13);
    const masked = logits.slice();
    for (let r = 0; r < 4; r++) masked.fill(-Infinity, r * V + limit, (r + 1) * V);
    const spec = specOutcomes(ps, masked, V);
    expect(nativeOutcomes(ps, logits, V, limit)).toEqual(spec);
    for (const o of spec) expect(o.next).toBeLessThan(limit);
  });

  it("names the proposal and the problem when the input is out of range", () => {
    const V = 8, logits = new Float32Array(V), native = new NativeSampler(backend, V);
    natives.push(native);
    using buf = backend.borrowHost(logits);
    const sampler = new SequenceSampler({ temperature: 1, seed: 1 }, V);
    const row = (i: number) => ({ sampler, generatedIds: [], step: i, logitsRow: 0 });
    const q = new Float64Array(V).fill(1 / V);
    expect(() => native.verify(buf, 1, [{ drafts: [9], draftProbs: [q], rows: [row(0), row(1)] }]))
      .toThrow(/proposal 0: a draft id is outside the vocabulary/);
    expect(() => native.verify(buf, 1, [{ drafts: [1], draftProbs: [q], rows: [row(0), { ...row(1), logitsRow: 3 }] }]))
      .toThrow(/proposal 0: its logits_row is outside the logits/);
    expect(() => native.verify(buf, 1, [{ drafts: [1], draftProbs: [q], rows: [row(0)] }]))
      .toThrow(/proposal 0: 1 rows for 1 drafts/);
  });
});
