// The last layer's FFN runs on the logit rows only, and a prefill chunk without logit rows stops after the last
// layer's KV write (llama.cpp's output-row pruning, runtime/model/text-model.ts and kernels/step_core.h): the pruned
// forward against the unpruned one (an onHidden observer keeps every row's hidden state, so nothing is pruned), and
// the one-call step against the per-kernel forward with rows pruned in both.
import { afterAll, describe, expect, it, vi } from "vitest";
import { createBackend } from "../../ffi/backend.ts";
import type { ForwardBatch } from "../../runtime/model/batch.ts";
import { KvCache } from "../../runtime/model/kv-cache.ts";
import { type LoadedModel, loadModel } from "../../runtime/model/load-model.ts";
import { fixtureDir } from "../helpers/fixtures.ts";

const backend = createBackend("cpu");
const BLOCK = 4, PER_SEQ = 16;
const loaded: LoadedModel[] = [];
afterAll(() => loaded.forEach((m) => m.dispose()));

/** Prompts of the given lengths from position 0, sequence s in blocks [s · PER_SEQ, (s + 1) · PER_SEQ); the logit
 *  row of each is its last token unless `withLogits` is false. Example: lengths [20, 13] → logit rows [19, 32]. */
function prompts(lengths: number[], withLogits = true): ForwardBatch {
  const numTokens = lengths.reduce((a, b) => a + b, 0);
  const tokenIds = new Int32Array(numTokens), positions = new Int32Array(numTokens), slots = new Int32Array(numTokens);
  const queryStarts = new Int32Array(lengths.length + 1), logitRows: number[] = [];
  let row = 0;
  lengths.forEach((n, s) => {
    queryStarts[s] = row;
    for (let p = 0; p < n; p++, row++) {
      tokenIds[row] = (row * 37 + 11) % 200;
      positions[row] = p;
      slots[row] = s * PER_SEQ * BLOCK + p;
    }
    if (withLogits) logitRows.push(row - 1);
  });
  queryStarts[lengths.length] = row;
  return {
    tokenIds,
    positions,
    slots,
    queryStarts,
    contextLens: Int32Array.from(lengths),
    blockTables: Int32Array.from({ length: lengths.length * PER_SEQ }, (_, i) => i),
    maxBlocksPerSeq: PER_SEQ,
    logitRows: Int32Array.from(logitRows),
  };
}

describe.each(["tiny-mistral3", "tiny-mistral3-fp8"])("output-row pruning on %s", (name) => {
  const m = loadModel(fixtureDir(name), backend);
  loaded.push(m);
  const t = m.config.text;
  const fresh = () => new KvCache(backend, t, 2 * PER_SEQ, BLOCK, "f32");
  const keepEveryRow = { onHidden: () => {} };

  it("a prompt's last row: the last layer's FFN runs on that row alone, logits as the unpruned forward's", () => {
    m.model.stepCalls = "per-kernel";
    const linearTokens = (options: object) => {
      const cache = fresh(), spy = vi.spyOn(backend, "linear");
      try {
        const logits = m.model.forward(prompts([20]), cache, options).logits;
        return { logits, oneRowCalls: spy.mock.calls.filter((call) => call[3] === 1).length };
      } finally {
        spy.mockRestore();
        cache.dispose();
        m.model.stepCalls = "one-call";
      }
    };
    const pruned = linearTokens({}), full = linearTokens(keepEveryRow);
    expect(full.oneRowCalls, "the lm_head alone runs on one row").toBe(1);
    expect(pruned.oneRowCalls, "gate, up and down on the logit row, then the lm_head").toBe(4);
    let maxDiff = 0;
    pruned.logits.forEach((x, i) => maxDiff = Math.max(maxDiff, Math.abs(x - full.logits[i])));
    expect(maxDiff).toBeLessThan(1e-5); // the FFN's GEMM on 20 rows and its row dot on one sum in other orders
    const argmax = (l: Float32Array) => l.indexOf(Math.max(...l));
    expect(argmax(pruned.logits)).toBe(argmax(full.logits));
  });

  it("a chunk without logit rows stops after the last layer's KV write; the cache is byte-identical", () => {
    const run = (options: object) => {
      const cache = fresh(), spy = vi.spyOn(backend, "attention");
      m.model.forward(prompts([20, 13], false), cache, options);
      const calls = spy.mock.calls.length;
      spy.mockRestore();
      const bytes = [...cache.k, ...cache.v].map((buf) => backend.download(buf, new Uint8Array(buf.byteLength)));
      cache.dispose();
      return { calls, bytes };
    };
    const pruned = run({}), full = run(keepEveryRow);
    pruned.bytes.forEach((b, i) => expect(Buffer.from(b).equals(Buffer.from(full.bytes[i])), `cache ${i}`).toBe(true));
    expect(full.calls).toBe(t.numLayers);
    expect(pruned.calls, "no attention in the last layer").toBe(t.numLayers - 1);
  });

  it("the one-call step prunes as the per-kernel forward does: bit-identical logits, ragged", () => {
    const logitsOf = (calls: "one-call" | "per-kernel") => {
      const cache = fresh();
      m.model.stepCalls = calls;
      try {
        const batch = prompts([20, 13]);
        const r = m.model.forward(batch, cache, { logitsOnDevice: true, skipRowHidden: true });
        return backend.download(r.deviceLogits!, new Float32Array(batch.logitRows.length * t.vocabSize));
      } finally {
        m.model.stepCalls = "one-call";
        cache.dispose();
      }
    };
    expect(Buffer.from(logitsOf("one-call").buffer).equals(Buffer.from(logitsOf("per-kernel").buffer))).toBe(true);
  });
});
