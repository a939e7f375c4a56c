// The one-call step (gust_step: the batch, every layer, the lm_head and the sampling in one native call) against
// its twin, the per-kernel forward of runtime/model/text-model.ts: bit-identical logits on every golden case of
// every fixture, in ragged batches (several prompts prefilled together, then decode rows beside a prefill chunk),
// for f32, bf16 and FP8 KV caches, and identical sampled tokens and log-probabilities when the sampling runs
// inside the same call. One native call per step on the one-call path.
import { afterAll, describe, expect, it } from "vitest";
import { createBackend } from "../../ffi/backend.ts";
import type { ForwardBatch } from "../../runtime/model/batch.ts";
import { KvCache, type KvCacheDtype } from "../../runtime/model/kv-cache.ts";
import { type LoadedModel, loadModel } from "../../runtime/model/load-model.ts";
import type { StepCalls } from "../../runtime/model/one-call-step.ts";
import { NativeSampler } from "../../runtime/sampling/native-sampler.ts";
import { SequenceSampler } from "../../runtime/sampling/sampler.ts";
import { fixtureDir, Golden } from "../helpers/fixtures.ts";

const backend = createBackend("cpu");
const fixtures = ["tiny-mistral3", "tiny-mistral3-fp8", "tiny-mistral3-native", "odd-bf16", "odd-native-fp8"];
const BLOCK = 4;
const loaded: LoadedModel[] = [];
afterAll(() => loaded.forEach((m) => m.dispose()));

/** Sequence s owns blocks [s · perSeq, (s + 1) · perSeq); each entry appends `ids` at position `start`. */
function raggedBatch(parts: { seq: number; start: number; ids: ArrayLike<number> }[], perSeq: number): ForwardBatch {
  const numTokens = parts.reduce((n, p) => n + p.ids.length, 0);
  const tokenIds = new Int32Array(numTokens), positions = new Int32Array(numTokens), slots = new Int32Array(numTokens);
  const queryStarts = new Int32Array(parts.length + 1), contextLens = new Int32Array(parts.length);
  const blockTables = new Int32Array(parts.length * perSeq), logitRows: number[] = [];
  let row = 0;
  parts.forEach((p, s) => {
    queryStarts[s] = row;
    for (let b = 0; b < perSeq; b++) blockTables[s * perSeq + b] = p.seq * perSeq + b;
    for (let j = 0; j < p.ids.length; j++, row++) {
      const pos = p.start + j;
      tokenIds[row] = p.ids[j];
      positions[row] = pos;
      slots[row] = (p.seq * perSeq + Math.floor(pos / BLOCK)) * BLOCK + (pos % BLOCK);
      logitRows.push(row); // every row's logits: the goldens hold them all
    }
    contextLens[s] = p.start + p.ids.length;
  });
  queryStarts[parts.length] = row;
  const rows = Int32Array.from(logitRows);
  return {
    tokenIds,
    positions,
    slots,
    queryStarts,
    contextLens,
    blockTables,
    maxBlocksPerSeq: perSeq,
    logitRows: rows,
  };
}

/** Runs the same steps through one path on a fresh cache; returns each step's logits and the native calls made. */
function runSteps(m: LoadedModel, calls: StepCalls, dtype: KvCacheDtype, steps: ForwardBatch[], perSeq: number) {
  const t = m.config.text, numSeqs = Math.max(...steps.map((b) => b.contextLens.length));
  const cache = new KvCache(backend, t, numSeqs * perSeq, BLOCK, dtype);
  m.model.stepCalls = calls;
  try {
    return steps.map((batch) => {
      const before = backend.ffiCalls;
      const r = m.model.forward(batch, cache, { logitsOnDevice: true, skipRowHidden: true });
      const ffiCalls = backend.ffiCalls - before;
      const logits = backend.download(r.deviceLogits!, new Float32Array(batch.logitRows.length * t.vocabSize));
      return { logits, ffiCalls };
    });
  } finally {
    m.model.stepCalls = "one-call";
    cache.dispose();
  }
}

describe.each(fixtures)("one-call step ≡ per-kernel forward on %s", (name) => {
  const golden = new Golden(name);
  const m = loadModel(fixtureDir(name), backend);
  loaded.push(m);
  const cases = golden.textCases().map((c) => golden.i32(`${c}.input_ids`));
  const longest = Math.max(...cases.map((ids) => ids.length)) + 4;
  const perSeq = Math.ceil(longest / BLOCK);
  // step 1: every case prefilled in one ragged batch; step 2: each decodes its greedy token, beside the first case
  // prefilled again from scratch in a new sequence (decode rows and a prefill chunk together)
  const prefill = raggedBatch(cases.map((ids, s) => ({ seq: s, start: 0, ids })), perSeq);
  const decode = (tokens: number[]) =>
    raggedBatch([
      ...cases.map((ids, s) => ({ seq: s, start: ids.length, ids: [tokens[s]] })),
      { seq: cases.length, start: 0, ids: cases[0] },
    ], perSeq);

  it.each(["f32", "bf16", "fp8"] as const)("bit-identical logits, batched and ragged (%s KV cache)", (dtype) => {
    const V = m.config.text.vocabSize;
    const first = runSteps(m, "per-kernel", dtype, [prefill], perSeq)[0];
    // each case's greedy next token from its last prefill row
    let end = 0;
    const next = cases.map((ids) => {
      end += ids.length;
      const row = first.logits.subarray((end - 1) * V, end * V);
      return row.indexOf(Math.max(...row));
    });
    const steps = [prefill, decode(next)];
    const spec = runSteps(m, "per-kernel", dtype, steps, perSeq);
    const oneCall = runSteps(m, "one-call", dtype, steps, perSeq);
    steps.forEach((_, i) => {
      expect(Buffer.from(oneCall[i].logits.buffer).equals(Buffer.from(spec[i].logits.buffer)), `step ${i}`).toBe(true);
      expect(oneCall[i].ffiCalls, "native calls in a one-call step").toBe(1);
      expect(spec[i].ffiCalls).toBeGreaterThan(10 * m.config.text.numLayers);
    });
  });

  it("the sampling inside the call draws what sampling after the per-kernel forward draws", () => {
    const t = m.config.text, native = new NativeSampler(backend, t.vocabSize);
    const draws = (calls: StepCalls) => {
      const cache = new KvCache(backend, t, (cases.length + 1) * perSeq, BLOCK, "f32");
      m.model.stepCalls = calls;
      try {
        const rows = Array.from({ length: prefill.logitRows.length }, (_, r) => ({
          sampler: new SequenceSampler({ temperature: 0.9, topP: 0.95, seed: r, logprobs: 2 }, t.vocabSize),
          generatedIds: [],
          step: 0,
          logitsRow: r,
        }));
        const prepared = native.prepare(rows)!;
        m.model.forward(prefill, cache, { logitsOnDevice: true, skipRowHidden: true, sample: prepared.args });
        return prepared.finish();
      } finally {
        m.model.stepCalls = "one-call";
        cache.dispose();
      }
    };
    const spec = draws("per-kernel"), oneCall = draws("one-call");
    expect(JSON.stringify(oneCall)).toBe(JSON.stringify(spec));
    expect(new Set(spec.map((d) => d.token)).size).toBeGreaterThan(1);
    native.dispose();
  });
});
