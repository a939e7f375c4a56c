// Prefill a few prompts, then decode them step by step with the sampling inside the step (the engine's plain decode
// path), recording what each step gave: logits, sampled tokens, kernel launches and host time. The decode-bucket
// tests (test/model/decode-buckets.test.ts) and the CUDA graph suite (test/gpu/step-graph.test.ts) compare runs.
import { expect } from "vitest";
import type { Backend } from "../../ffi/backend.ts";
import type { ForwardBatch } from "../../runtime/model/batch.ts";
import { KvCache, type KvCacheDtype } from "../../runtime/model/kv-cache.ts";
import type { LoadedModel } from "../../runtime/model/load-model.ts";
import type { DecodeShaping } from "../../runtime/model/one-call-step.ts";
import { NativeSampler } from "../../runtime/sampling/native-sampler.ts";
import { SequenceSampler } from "../../runtime/sampling/sampler.ts";

export const DECODE_BLOCK = 4;

/** Sequence s owns blocks [s · perSeq, (s + 1) · perSeq) and appends ids[s] at starts[s]; logits of every row, or
 *  of each sequence's last row with `lastRows`. */
export function batchOf(starts: number[], ids: number[][], perSeq: number, lastRows = false): ForwardBatch {
  const rows = ids.flatMap((seqIds, s) => seqIds.map((id, j) => ({ s, id, pos: starts[s] + j })));
  const queryStarts = [0];
  ids.forEach((seqIds) => queryStarts.push(queryStarts.at(-1)! + seqIds.length));
  const B = DECODE_BLOCK;
  return {
    tokenIds: Int32Array.from(rows, (r) => r.id),
    positions: Int32Array.from(rows, (r) => r.pos),
    slots: Int32Array.from(rows, (r) => (r.s * perSeq + Math.floor(r.pos / B)) * B + (r.pos % B)),
    queryStarts: Int32Array.from(queryStarts),
    contextLens: Int32Array.from(ids, (seqIds, s) => starts[s] + seqIds.length),
    blockTables: Int32Array.from({ length: ids.length * perSeq }, (_, i) => i),
    maxBlocksPerSeq: perSeq,
    logitRows: lastRows
      ? Int32Array.from(ids, (_, s) => queryStarts[s + 1] - 1)
      : Int32Array.from({ length: rows.length }, (_, i) => i),
  };
}

export interface DecodeRun {
  /** Per step: the logits of the decoding sequences' rows, [active, vocab] (none with `keepLogits` false). */
  logits: Float32Array[];
  tokens: number[][];
  /** The whole KV cache's bytes after the last step, K then V per layer. */
  kv: Uint8Array[];
  launches: number[];
  /** Host time of each step's forward call (what the host spends queuing it), milliseconds. */
  hostMs: number[];
  /** Wall time of each step until its sampled tokens are on the host (the device work included), milliseconds. */
  stepMs: number[];
}

export interface DecodeRunOptions {
  dtype: KvCacheDtype;
  shaping: DecodeShaping;
  steps: number;
  /** Sequences 0 .. active(step) − 1 decode at `step` (default all): the batch, and so its bucket, may change. */
  active?: (step: number) => number;
  /** Download every step's logits (default true; real-shape runs keep only the tokens). */
  keepLogits?: boolean;
}

/** Prefills `prompts`, then decodes `steps` tokens sampled inside each step (temperature 0.8, seeded, log-probs). */
export function decodeRun(backend: Backend, m: LoadedModel, prompts: number[][], o: DecodeRunOptions): DecodeRun {
  const t = m.config.text, V = t.vocabSize, n = prompts.length;
  const perSeq = Math.ceil((Math.max(...prompts.map((p) => p.length)) + o.steps + 1) / DECODE_BLOCK);
  const cache = new KvCache(backend, t, n * perSeq, DECODE_BLOCK, o.dtype);
  const native = new NativeSampler(backend, V);
  const previous = m.model.decodeShaping;
  m.model.decodeShaping = o.shaping;
  try {
    const options = { logitsOnDevice: true, skipRowHidden: true } as const;
    const prefill = m.model.forward(batchOf(prompts.map(() => 0), prompts, perSeq, true), cache, options);
    const last = backend.download(prefill.deviceLogits!, new Float32Array(n * V));
    const next = prompts.map((_, s) => {
      const row = last.subarray(s * V, (s + 1) * V);
      return row.indexOf(Math.max(...row));
    });
    const lens = prompts.map((p) => p.length), generated = prompts.map(() => 0);
    const run: DecodeRun = { logits: [], tokens: [], kv: [], launches: [], hostMs: [], stepMs: [] };
    for (let step = 0; step < o.steps; step++) {
      const active = o.active?.(step) ?? n;
      const prepared = native.prepare(
        next.slice(0, active).map((_, r) => ({
          sampler: new SequenceSampler({ temperature: 0.8, seed: 7 + r, logprobs: 1 }, V),
          generatedIds: [],
          step: generated[r],
          logitsRow: r,
        })),
      )!;
      const batch = batchOf(lens.slice(0, active), next.slice(0, active).map((id) => [id]), perSeq);
      backend.launchCount();
      const started = performance.now();
      const r = m.model.forward(batch, cache, { ...options, sample: prepared.args });
      run.hostMs.push(performance.now() - started);
      run.launches.push(backend.launchCount());
      const drawn = prepared.finish();
      run.stepMs.push(performance.now() - started);
      if (o.keepLogits ?? true) run.logits.push(backend.download(r.deviceLogits!, new Float32Array(active * V)));
      run.tokens.push(drawn.map((d) => d.token));
      drawn.forEach((d, s) => {
        next[s] = d.token;
        lens[s]++;
        generated[s]++;
      });
    }
    run.kv = [...cache.k, ...cache.v].map((b) => backend.download(b, new Uint8Array(b.byteLength)));
    return run;
  } finally {
    m.model.decodeShaping = previous;
    native.dispose();
    cache.dispose();
  }
}

/** Every step's logits and tokens, and the KV cache after the run, bit for bit the same. */
export function expectSameRun(run: DecodeRun, spec: DecodeRun): void {
  run.logits.forEach((step, i) => {
    expect(Buffer.from(step.buffer).equals(Buffer.from(spec.logits[i].buffer)), `logits of step ${i}`).toBe(true);
  });
  expect(run.tokens).toEqual(spec.tokens);
  run.kv.forEach((bytes, i) => expect(Buffer.from(bytes).equals(Buffer.from(spec.kv[i])), `KV buffer ${i}`).toBe(true));
}
