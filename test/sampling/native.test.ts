// The native sampler beyond the spec's own suites (which run through test/helpers/twin-sampler.ts, holding it equal
// to sampler.ts draw for draw): χ² at 0.999 over vocabularies of 8 to 131,072 tokens with whole batches per call,
// allowed masks, the padding-id limit, batch rows independent of each other, and its refusals.
import { describe, expect, it } from "vitest";
import { createBackend } from "../../ffi/backend.ts";
import { NativeSampler, type NativeSampleRow } from "../../runtime/sampling/native-sampler.ts";
import { SequenceSampler } from "../../runtime/sampling/sampler.ts";
import type { SamplingParams } from "../../runtime/sampling/params.ts";
import { CHI2_999, chiSquare, softmax } from "./reference.ts";

const backend = createBackend("cpu");

/** `draws` tokens from one row, `batch` steps per native call (step = draw index). */
function drawNative(logits: Float32Array, params: SamplingParams, draws: number, batch = 512, vocabLimit?: number) {
  const V = logits.length, native = new NativeSampler(backend, V, vocabLimit);
  const sampler = new SequenceSampler({ ...params, seed: 77 }, V);
  using row = backend.borrowHost(logits);
  const tokens: number[] = [];
  for (let start = 0; start < draws; start += batch) {
    const rows: NativeSampleRow[] = Array.from(
      { length: Math.min(batch, draws - start) },
      (_, j) => ({ sampler, generatedIds: [], step: start + j, logitsRow: 0 }),
    );
    for (const r of native.sample(row, 1, rows)) tokens.push(r.token);
  }
  native.dispose();
  return tokens;
}

describe("native sampler", () => {
  it.each([8, 1000, 4096, 131_072])("follows the softmax over %i tokens (χ² at 0.999, 16 equal-mass bins)", (V) => {
    // alternate logits 0 and ln 3 so each bin (id mod 16) holds the same mass whatever V is
    const logits = Float32Array.from({ length: V }, (_, i) => (i % 2 === 0 ? 0 : Math.log(3)));
    const bins = V >= 16 ? 16 : V;
    const counts = new Array(bins).fill(0);
    for (const t of drawNative(logits, {}, V > 10_000 ? 1600 : 16_000)) counts[t % bins]++; // ≥ 100 per bin
    const probs = softmax(Array.from(logits));
    const binProbs = counts.map((_, b) => probs.reduce((a, p, i) => (i % bins === b ? a + p : a), 0));
    expect(chiSquare(counts, binProbs, counts.map((_, b) => b))).toBeLessThan(CHI2_999[bins - 1]);
  }, 300_000);

  it("draws top-p over a 131,072-token row from the nucleus only, in its proportions", () => {
    const V = 131_072, logits = new Float32Array(V).fill(-30); // the tail's mass is ~1e-8: the head decides
    const head = [3, 2.5, 2, 1.5];
    head.forEach((v, i) => (logits[1000 * i + 7] = v));
    const tokens = drawNative(logits, { topP: 0.8 }, 1500);
    const ids = head.map((_, i) => 1000 * i + 7);
    // the nucleus: the fewest head tokens whose mass reaches 0.8 of the whole row (three of the four)
    const probs = softmax(Array.from(logits));
    let mass = 0, kept = 0;
    while (mass < 0.8) mass += probs[ids[kept++]];
    const keptIds = ids.slice(0, kept);
    expect(tokens.every((t) => keptIds.includes(t)), "a token outside the nucleus").toBe(true);
    const counts = keptIds.map((id) => tokens.filter((t) => t === id).length);
    const keptProbs = keptIds.map((id) => probs[id]);
    expect(kept).toBe(3);
    expect(chiSquare(counts, keptProbs, counts.map((_, i) => i))).toBeLessThan(CHI2_999[kept - 1]);
  }, 300_000);

  it("never draws a masked id or one at or above the vocabulary limit, and reports none in log-probs", () => {
    const V = 300, limit = 200;
    const logits = Float32Array.from({ length: V }, (_, i) => (i >= limit ? 10 : (i % 7) * 0.1)); // padding is loudest
    const mask = new Uint32Array((V + 31) >> 5);
    for (let i = 0; i < V; i += 3) mask[i >> 5] |= 1 << (i & 31);
    const native = new NativeSampler(backend, V, limit);
    using row = backend.borrowHost(logits);
    const sampler = new SequenceSampler({ temperature: 5, seed: 3, logprobs: 5 }, V);
    const free = native.sample(
      row,
      1,
      Array.from({ length: 400 }, (_, s) => ({ sampler, generatedIds: [], step: s, logitsRow: 0 })),
    );
    expect(free.every((r) => r.token < limit)).toBe(true);
    expect(free.every((r) => r.topLogprobs!.every((t) => t.token < limit))).toBe(true);
    const masked = native.sample(
      row,
      1,
      Array.from({ length: 400 }, (_, s) => ({ sampler, generatedIds: [], step: s, logitsRow: 0, mask })),
    );
    expect(masked.every((r) => r.token < limit && r.token % 3 === 0)).toBe(true);
    native.dispose();
  });

  it("gives each row of a batch the token it gets alone, whatever the other rows ask", () => {
    const V = 2048, rowsOfLogits = new Float32Array(3 * V).map((_, i) => Math.sin(i * 0.37) * 3);
    const native = new NativeSampler(backend, V);
    using logits = backend.borrowHost(rowsOfLogits);
    const make = (p: SamplingParams, logitsRow: number, step: number): NativeSampleRow => ({
      sampler: new SequenceSampler({ ...p, seed: 1000 + step }, V, [1, 2, 3]),
      generatedIds: [5, 5, 9],
      step,
      logitsRow,
    });
    const batch = [
      make({ topK: 40, repetitionPenalty: 1.3 }, 2, 0),
      make({ temperature: 0 }, 0, 1),
      make({ topP: 0.9, minP: 0.05, frequencyPenalty: 0.5, logprobs: 3 }, 1, 2),
      make({ logitBias: { 17: 30 } }, 2, 3),
    ];
    const together = native.sample(logits, 3, batch);
    const alone = batch.map((r) =>
      native.sample(logits, 3, [{ ...r, sampler: new SequenceSampler(r.sampler.params, V, [1, 2, 3]) }])[0]
    );
    expect(together).toEqual(alone);
    expect(together[3].token).toBe(17);
    native.dispose();
  });

  it("refuses a row it cannot draw from, naming the row and why", () => {
    const V = 16, native = new NativeSampler(backend, V);
    using row = backend.borrowHost(new Float32Array(V).fill(-Infinity));
    const sampler = new SequenceSampler({ seed: 1 }, V);
    expect(() => native.sample(row, 1, [{ sampler, generatedIds: [], step: 0, logitsRow: 0 }]))
      .toThrow(/gust_sample: row 0: no finite logit to draw from/);
    expect(() => native.sample(row, 1, [{ sampler, generatedIds: [], step: 0, logitsRow: 1 }]))
      .toThrow(/row 0: its logits_row is outside the logits/);
    native.dispose();
  });
});
