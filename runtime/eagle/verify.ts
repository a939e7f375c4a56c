// Accepting draft tokens against the target's one verification forward.
//
// Greedy (temperature 0): keep drafts while each equals the target's own choice at that position; the
// first mismatch is replaced by the target's choice; if all k match, the target's choice after the last
// draft is a bonus. The output is then token-for-token what plain greedy decoding gives.
//
// Sampling (temperature > 0), the standard speculative-sampling rule: draft d_i was drawn from q_i;
// accept it with probability min(1, p_i(d)/q_i(d)) where p_i is the target's processed distribution
// (bias, penalties, temperature, top-k/p, min-p); on rejection draw from normalise(max(0, p_i − q_i)).
// Every emitted token is then distributed exactly as p. The uniforms are counter-hashed from
// (seed, step, lane) like the sampler's, so results do not depend on batch composition.
//
// The native twin is gust_verify_drafts (kernels/spec_verify_core.h), which follows this function step for step.
//
// Example, k = 3: drafts [a, b, c]; target picks a at row 0, b at row 1, x at row 2 → accepted 2,
// emitted [a, b, x]; the target's K/V for rows 0..2 (positions of the last token, a, b) stay valid.
import { counterHash, splitSeed, uniformFromHash } from "../sampling/counter-hash.ts";
import type { SequenceSampler } from "../sampling/sampler.ts";

export interface VerifyOutcome {
  /** Drafts accepted (0..k). */
  accepted: number;
  /** The token after the accepted drafts: the correction on rejection, the bonus when all were accepted. */
  next: number;
}

/** Uniform lanes beyond the vocabulary, so they never collide with the sampler's per-token hashes. */
export const Lane = { propose: 1, accept: 2, residual: 3 } as const;

export function laneUniform(seed: number, step: number, vocab: number, lane: number): number {
  const [lo, hi] = splitSeed(seed);
  return uniformFromHash(counterHash(lo, hi, step, vocab + lane));
}

/** The target's processed distribution for one row (what the sampler would draw from). */
export function targetDistribution(
  sampler: SequenceSampler,
  logits: Float32Array,
  generated: readonly number[],
): Float64Array {
  return sampler.distribution(logits, generated);
}

/** Draws from a (possibly unnormalised) non-negative distribution with one uniform: inverse CDF. */
export function drawFrom(weights: Float64Array, u: number): number {
  let total = 0;
  for (const w of weights) total += w;
  let target = u * total, last = -1;
  for (let i = 0; i < weights.length; i++) {
    if (weights[i] <= 0) continue;
    last = i;
    target -= weights[i];
    if (target < 0) return i;
  }
  return last;
}

export interface VerifyInput {
  drafts: readonly number[];
  /** Draft distributions q_i (sampling mode only). */
  draftProbs: readonly (Float64Array | null)[];
  /** Target logits rows 0..k (row i scores the token after drafts[0..i−1]). */
  rows: (i: number) => Float32Array;
  sampler: SequenceSampler;
  /** Output tokens before this round (penalties see them, plus accepted drafts). */
  generated: readonly number[];
  /** Index of the token that drafts[0] would be (the sampler's step). */
  step: number;
}

export function verifyDrafts(v: VerifyInput): VerifyOutcome {
  const k = v.drafts.length, s = v.sampler;
  const prefix = [...v.generated];
  if (s.params.temperature === 0) {
    for (let i = 0; i < k; i++) {
      const choice = s.sample(v.rows(i), prefix, v.step + i).token;
      if (choice !== v.drafts[i]) return { accepted: i, next: choice };
      prefix.push(choice);
    }
    return { accepted: k, next: s.sample(v.rows(k), prefix, v.step + k).token };
  }
  for (let i = 0; i < k; i++) {
    const p = targetDistribution(s, v.rows(i), prefix), q = v.draftProbs[i]!;
    const d = v.drafts[i];
    const ratio = q[d] > 0 ? p[d] / q[d] : 0;
    if (laneUniform(s.seed, v.step + i, s.vocabSize, Lane.accept) < Math.min(1, ratio)) {
      prefix.push(d);
      continue;
    }
    const residual = new Float64Array(p.length);
    let mass = 0;
    for (let t = 0; t < p.length; t++) mass += residual[t] = Math.max(0, p[t] - q[t]);
    const next = drawFrom(mass > 0 ? residual : p, laneUniform(s.seed, v.step + i, s.vocabSize, Lane.residual));
    return { accepted: i, next };
  }
  return { accepted: k, next: s.sample(v.rows(k), prefix, v.step + k).token };
}
