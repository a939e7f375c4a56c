// Speculative sampling is exact: with drafts drawn from a different distribution q, the tokens emitted
// after verification are distributed as the target's p (chi-square over many seeded trials), for the
// first token (accept or residual) and for the token after an accepted draft.
import { describe, expect, it } from "vitest";
import { drawFrom, Lane, laneUniform, targetDistribution, verifyDrafts } from "../../runtime/eagle/verify.ts";
import { SequenceSampler } from "../../runtime/sampling/sampler.ts";
import { CHI2_999, chiSquare, softmax } from "../sampling/reference.ts";

const V = 8;
const targetLogits = Float32Array.from([2.0, 1.2, 0.3, -0.5, 1.6, -1.0, 0.0, 0.9]);
const draftLogits = [0.1, 1.9, 1.5, 0.2, -0.3, 0.8, -2.0, 0.4]; // deliberately unlike the target
const all = Array.from({ length: V }, (_, i) => i);

function trial(seed: number, params: { temperature: number; topP?: number }) {
  const sampler = new SequenceSampler({ ...params, seed }, V);
  const q = Float64Array.from(softmax(draftLogits, params.temperature));
  const d0 = drawFrom(q, laneUniform(seed, 0, V, Lane.propose));
  const d1 = drawFrom(q, laneUniform(seed, 1, V, Lane.propose));
  return verifyDrafts({
    drafts: [d0, d1],
    draftProbs: [q, q],
    rows: () => targetLogits,
    sampler,
    generated: [],
    step: 0,
  });
}

describe("speculative sampling exactness", () => {
  it.each([{ temperature: 1 }, { temperature: 0.7 }, { temperature: 1, topP: 0.8 }])(
    "emitted tokens follow the target distribution (%j)",
    (params) => {
      const p = Array.from(targetDistribution(new SequenceSampler({ ...params, seed: 1 }, V), targetLogits, []));
      const first = new Array(V).fill(0), afterAccept = new Array(V).fill(0);
      let rejections = 0, accepts = 0;
      const trials = 30_000;
      for (let seed = 1; seed <= trials; seed++) {
        const out = trial(seed, params);
        if (out.accepted === 0) {
          rejections++;
          first[out.next]++;
        } else {
          accepts++;
          first[draftAt(seed, 0, params.temperature)]++; // the accepted draft is the first token
          if (out.accepted === 1) afterAccept[out.next]++;
          else afterAccept[draftAt(seed, 1, params.temperature)]++;
        }
      }
      expect(rejections).toBeGreaterThan(1000); // the residual path is really exercised
      expect(accepts).toBeGreaterThan(1000);
      const kept = all.filter((i) => p[i] > 0);
      expect(chiSquare(first, p, kept)).toBeLessThan(CHI2_999[kept.length - 1]);
      expect(chiSquare(afterAccept, p, kept)).toBeLessThan(CHI2_999[kept.length - 1]);
      for (let i = 0; i < V; i++) if (p[i] === 0) expect(first[i] + afterAccept[i]).toBe(0);
    },
  );

  it("the check has power: the draft distribution itself fails it", () => {
    const p = softmax(Array.from(targetLogits));
    const q = Float64Array.from(softmax(draftLogits));
    const counts = new Array(V).fill(0);
    for (let seed = 1; seed <= 30_000; seed++) counts[drawFrom(q, laneUniform(seed, 0, V, Lane.propose))]++;
    expect(chiSquare(counts, p, all)).toBeGreaterThan(CHI2_999[V - 1]);
  });

  it("greedy verification keeps exactly the matching prefix", () => {
    const sampler = new SequenceSampler({ temperature: 0, seed: 3 }, V);
    const rows = [
      Float32Array.from([0, 5, 0, 0, 0, 0, 0, 0]),
      Float32Array.from([0, 0, 0, 7, 0, 0, 0, 0]),
      Float32Array.from([9, 0, 0, 0, 0, 0, 0, 0]),
    ];
    expect(
      verifyDrafts({ drafts: [1, 3], draftProbs: [null, null], rows: (i) => rows[i], sampler, generated: [], step: 0 }),
    ).toEqual({ accepted: 2, next: 0 });
    expect(
      verifyDrafts({ drafts: [1, 4], draftProbs: [null, null], rows: (i) => rows[i], sampler, generated: [], step: 0 }),
    ).toEqual({ accepted: 1, next: 3 });
    expect(
      verifyDrafts({ drafts: [2, 3], draftProbs: [null, null], rows: (i) => rows[i], sampler, generated: [], step: 0 }),
    ).toEqual({ accepted: 0, next: 1 });
  });
});

function draftAt(seed: number, i: number, temperature: number): number {
  return drawFrom(Float64Array.from(softmax(draftLogits, temperature)), laneUniform(seed, i, V, Lane.propose));
}
