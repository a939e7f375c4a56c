// Speculative sampling is exact: with drafts drawn from a different distribution q, the tokens emitted
// after verification are distributed as the target's p (chi-square over many seeded trials), for the
// first token (accept or residual) and for the token after an accepted draft. Both verification paths are held to
// it: "typescript" (verifyDrafts, the spec) and "native" (gust_verify_drafts through NativeSampler.verify, every
// trial of a case in one native call).
import { afterAll, describe, expect, it } from "vitest";
import { createBackend } from "../../ffi/backend.ts";
import {
  drawFrom,
  Lane,
  laneUniform,
  targetDistribution,
  verifyDrafts,
  type VerifyOutcome,
} from "../../runtime/eagle/verify.ts";
import { NativeSampler } from "../../runtime/sampling/native-sampler.ts";
import { SequenceSampler } from "../../runtime/sampling/sampler.ts";
import { CHI2_999, chiSquare, softmax } from "../sampling/reference.ts";

const V = 8;
const targetLogits = Float32Array.from([2.0, 1.2, 0.3, -0.5, 1.6, -1.0, 0.0, 0.9]);
const draftLogits = [0.1, 1.9, 1.5, 0.2, -0.3, 0.8, -2.0, 0.4]; // deliberately unlike the target
const all = Array.from({ length: V }, (_, i) => i);
const backend = createBackend("cpu");
const native = new NativeSampler(backend, V);
afterAll(() => native.dispose());

interface Trial {
  sampler: SequenceSampler;
  drafts: number[];
  draftProbs: (Float64Array | null)[];
  rows: Float32Array[];
}

type Path = "typescript" | "native";

/** Verifies every trial (each at step 0 with nothing generated before) on one path. */
function verifyAll(path: Path, trials: readonly Trial[]): VerifyOutcome[] {
  if (path === "typescript") {
    return trials.map((t) => verifyDrafts({ ...t, rows: (i) => t.rows[i], generated: [], step: 0 }));
  }
  // all distinct rows of all trials side by side in one logits buffer
  const distinct = [...new Set(trials.flatMap((t) => t.rows))];
  const logits = new Float32Array(distinct.length * V);
  distinct.forEach((row, r) => logits.set(row, r * V));
  using buf = backend.borrowHost(logits);
  return native.verify(
    buf,
    distinct.length,
    trials.map((t) => ({
      drafts: t.drafts,
      draftProbs: t.draftProbs,
      rows: t.rows.map((row, i) => ({
        sampler: t.sampler,
        generatedIds: t.drafts.slice(0, i),
        step: i,
        logitsRow: distinct.indexOf(row),
      })),
    })),
  );
}

function trial(seed: number, params: { temperature: number; topP?: number }): Trial {
  const sampler = new SequenceSampler({ ...params, seed }, V);
  const q = Float64Array.from(softmax(draftLogits, params.temperature));
  const d0 = drawFrom(q, laneUniform(seed, 0, V, Lane.propose));
  const d1 = drawFrom(q, laneUniform(seed, 1, V, Lane.propose));
  return { sampler, drafts: [d0, d1], draftProbs: [q, q], rows: [targetLogits, targetLogits, targetLogits] };
}

describe.each<Path>(["typescript", "native"])("speculative sampling exactness (%s verification)", (path) => {
  it.each([{ temperature: 1 }, { temperature: 0.7 }, { temperature: 1, topP: 0.8 }])(
    "emitted tokens follow the target distribution (%j)",
    (params) => {
      const p = Array.from(targetDistribution(new SequenceSampler({ ...params, seed: 1 }, V), targetLogits, []));
      const first = new Array(V).fill(0), afterAccept = new Array(V).fill(0);
      let rejections = 0, accepts = 0;
      const trials = Array.from({ length: 30_000 }, (_, i) => trial(i + 1, params));
      verifyAll(path, trials).forEach((out, i) => {
        const [d0, d1] = trials[i].drafts;
        if (out.accepted === 0) {
          rejections++;
          first[out.next]++;
        } else {
          accepts++;
          first[d0]++; // the accepted draft is the first token
          if (out.accepted === 1) afterAccept[out.next]++;
          else afterAccept[d1]++;
        }
      });
      expect(rejections).toBeGreaterThan(1000); // the residual path is really exercised
      expect(accepts).toBeGreaterThan(1000);
      const kept = all.filter((i) => p[i] > 0);
      expect(chiSquare(first, p, kept)).toBeLessThan(CHI2_999[kept.length - 1]);
      expect(chiSquare(afterAccept, p, kept)).toBeLessThan(CHI2_999[kept.length - 1]);
      for (let i = 0; i < V; i++) if (p[i] === 0) expect(first[i] + afterAccept[i]).toBe(0);
    },
  );

  it("greedy verification keeps exactly the matching prefix", () => {
    const sampler = new SequenceSampler({ temperature: 0, seed: 3 }, V);
    const rows = [
      Float32Array.from([0, 5, 0, 0, 0, 0, 0, 0]),
      Float32Array.from([0, 0, 0, 7, 0, 0, 0, 0]),
      Float32Array.from([9, 0, 0, 0, 0, 0, 0, 0]),
    ];
    const greedy = (drafts: number[]): Trial => ({ sampler, drafts, draftProbs: [null, null], rows });
    expect(verifyAll(path, [greedy([1, 3]), greedy([1, 4]), greedy([2, 3])])).toEqual([
      { accepted: 2, next: 0 },
      { accepted: 1, next: 3 },
      { accepted: 0, next: 1 },
    ]);
  });
});

describe("speculative sampling exactness: the check itself", () => {
  it("has power: the draft distribution itself fails it", () => {
    const p = softmax(Array.from(targetLogits));
    const q = Float64Array.from(softmax(draftLogits));
    const counts = new Array(V).fill(0);
    for (let seed = 1; seed <= 30_000; seed++) counts[drawFrom(q, laneUniform(seed, 0, V, Lane.propose))]++;
    expect(chiSquare(counts, p, all)).toBeGreaterThan(CHI2_999[V - 1]);
  });

  it("both paths give the same outcome for every trial", () => {
    for (const params of [{ temperature: 1 }, { temperature: 1, topP: 0.8 }]) {
      const trials = Array.from({ length: 2000 }, (_, i) => trial(i + 1, params));
      expect(verifyAll("native", trials)).toEqual(verifyAll("typescript", trials));
    }
  });
});
