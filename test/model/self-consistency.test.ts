// Reference-free checks: one-token decode ≡ one prefill over the whole sequence, chunked prefill ≡ whole
// prefill, and a ragged batch of several sequences ≡ each sequence alone.
import { afterAll, describe, expect, it } from "vitest";
import { createBackend } from "../../ffi/backend.ts";
import { KvCache } from "../../runtime/model/kv-cache.ts";
import { loadModel } from "../../runtime/model/load-model.ts";
import { SingleSequence } from "../../runtime/model/single-sequence.ts";
import { argmax, logSoftmax } from "../../runtime/sampling/basic.ts";
import { closeness, describe as explain } from "../helpers/compare.ts";
import { fixtureDir } from "../helpers/fixtures.ts";

const backend = createBackend("cpu");
const loaded = ["tiny-mistral3-fp8", "odd-bf16"].map((n) => loadModel(fixtureDir(n), backend));
afterAll(() => loaded.forEach((m) => m.dispose()));

const prompt = (n: number, vocab: number, salt = 0) =>
  Array.from({ length: n }, (_, i) => 20 + ((i * 31 + salt * 17) % (vocab - 20)));

const cases = loaded.flatMap((m) =>
  (["f32", "bf16", "fp8"] as const).map((kvDtype) => [m.config.dir.split("/").pop()!, kvDtype, m] as const)
);
// A quantised cache stores one rounding of each K/V value; the GEMM's rounding differs by a last bit between batch
// shapes (blocked for 8+ rows), and such a bit can move a bf16 or FP8 code, so those caches get wider bounds.
const tolerance = { f32: 1e-4, bf16: 2e-3, fp8: 2e-2 } as const;

describe.each(cases)("%s, %s KV cache", (_name, kvDtype, m) => {
  const tol = tolerance[kvDtype];
  const vocab = m.config.text.vocabSize;

  it("log-probs of a decoded continuation equal those of one prefill over the whole sequence", () => {
    const ids = prompt(11, vocab);
    const decodeRows: Float64Array[] = [];
    const seq = new SingleSequence(backend, m.model, 40, 16, kvDtype);
    let logits = seq.append(ids).logits;
    decodeRows.push(logSoftmax(logits));
    for (let i = 0; i < 12; i++) {
      const next = argmax(logits);
      ids.push(next);
      logits = seq.append([next]).logits;
      decodeRows.push(logSoftmax(logits));
    }
    seq.dispose();
    const whole = new SingleSequence(backend, m.model, 40, 16, kvDtype);
    const all = whole.append(ids, { allRows: true }).logits;
    whole.dispose();
    decodeRows.forEach((row, j) => {
      const r = 10 + j; // prefill row r predicts token r+1
      const cmp = closeness(row, logSoftmax(all.subarray(r * vocab, (r + 1) * vocab)), tol, tol);
      expect(cmp.ok, `row ${r}: ${explain(cmp)}`).toBe(true);
    });
  });

  it("a prompt split across two prefill chunks equals one prefill", () => {
    const ids = prompt(29, vocab, 3);
    const one = new SingleSequence(backend, m.model, 32, 16, kvDtype);
    const whole = one.append(ids, { allRows: true }).logits;
    one.dispose();
    const two = new SingleSequence(backend, m.model, 32, 8, kvDtype); // chunk boundary inside a block
    const first = two.append(ids.slice(0, 13), { allRows: true }).logits;
    const second = two.append(ids.slice(13), { allRows: true }).logits;
    two.dispose();
    const joined = new Float32Array([...first, ...second]);
    const cmp = closeness(joined, whole, tol, tol);
    expect(cmp.ok, explain(cmp)).toBe(true);
  });

  it("a ragged batch (prefill + decode + chunk, scattered blocks) equals each sequence alone", () => {
    const blockSize = 4;
    const cache = new KvCache(backend, m.config.text, 24, blockSize, kvDtype);
    // A: 6 cached tokens then 1 decode token; B: fresh 9-token prefill; C: 5 cached then a 4-token chunk
    const a = prompt(7, vocab, 1), bIds = prompt(9, vocab, 2), cIds = prompt(9, vocab, 3);
    const tables = [[5, 17], [3, 11, 20], [0, 8, 14]];
    const slot = (s: number, p: number) => tables[s][Math.floor(p / blockSize)] * blockSize + (p % blockSize);
    const prefill = (s: number, ids: number[], n: number) => {
      m.model.forward({
        tokenIds: Int32Array.from(ids.slice(0, n)),
        positions: Int32Array.from({ length: n }, (_, i) => i),
        slots: Int32Array.from({ length: n }, (_, i) => slot(s, i)),
        queryStarts: Int32Array.of(0, n),
        contextLens: Int32Array.of(n),
        blockTables: Int32Array.from([...tables[s], -1].slice(0, 3)),
        maxBlocksPerSeq: 3,
        logitRows: new Int32Array(0),
      }, cache);
    };
    prefill(0, a, 6);
    prefill(2, cIds, 5);
    const rows = [[0, 6], [1, 0], [1, 1], [1, 2], [1, 3], [1, 4], [1, 5], [1, 6], [1, 7], [1, 8], [2, 5], [2, 6], [
      2,
      7,
    ], [2, 8]];
    const seqIds = [a, bIds, cIds];
    const result = m.model.forward({
      tokenIds: Int32Array.from(rows.map(([s, p]) => seqIds[s][p])),
      positions: Int32Array.from(rows.map(([, p]) => p)),
      slots: Int32Array.from(rows.map(([s, p]) => slot(s, p))),
      queryStarts: Int32Array.of(0, 1, 10, 14),
      contextLens: Int32Array.of(7, 9, 9),
      blockTables: Int32Array.from(tables.flatMap((t) => [...t, -1].slice(0, 3))),
      maxBlocksPerSeq: 3,
      logitRows: Int32Array.of(0, 9, 13),
    }, cache);
    cache.dispose();
    seqIds.forEach((ids, s) => {
      const alone = new SingleSequence(backend, m.model, 16, 16, kvDtype);
      const want = alone.append(ids).logits;
      alone.dispose();
      const cmp = closeness(result.logits.subarray(s * vocab, (s + 1) * vocab), want, tol, tol);
      expect(cmp.ok, `sequence ${s}: ${explain(cmp)}`).toBe(true);
    });
  });
});
