// Decode buckets (runtime/model/decode-buckets.ts): a decode-only batch padded to its bucket gives its real rows the
// same logits, bit for bit, and the same sampled tokens as the unpadded batch, on every golden fixture and KV cache
// dtype, and padding rows leave every real sequence's KV cache untouched. This is what lets the CUDA library replay
// one recorded graph per bucket (test/gpu/step-graph.test.ts checks the replay itself on a GPU).
// Bit-identity holds on the portable kernels (every row computed alike whatever the batch). The AVX2 linear picks
// its inner loop by batch shape (4-, 2- and 1-row tiles; the blocked GEMM from GEMM_MIN_TOKENS rows), so padding
// moves the last bits there: with those kernels the tokens must match and the logits stay within 1e-5.
import { afterAll, describe, expect, it } from "vitest";
import { createBackend } from "../../ffi/backend.ts";
import { decodeBucket, isDecodeOnly, padDecodeBatch } from "../../runtime/model/decode-buckets.ts";
import type { KvCacheDtype } from "../../runtime/model/kv-cache.ts";
import { type LoadedModel, loadModel } from "../../runtime/model/load-model.ts";
import { batchOf, decodeRun, expectSameRun } from "../helpers/decode-run.ts";
import { fixtureDir, Golden } from "../helpers/fixtures.ts";

const backend = createBackend("cpu");
const fixtures = ["tiny-mistral3", "tiny-mistral3-fp8", "tiny-mistral3-native", "odd-bf16", "odd-native-fp8"];
const STEPS = 3;
const loaded: LoadedModel[] = [];
afterAll(() => loaded.forEach((m) => m.dispose()));

describe("decode bucket arithmetic", () => {
  it("pads 5 sequences to 8 as the header's worked example", () => {
    expect([1, 2, 3, 5, 8, 9, 100].map((n) => decodeBucket(n, 128))).toEqual([1, 2, 4, 8, 8, 16, 128]);
    expect(decodeBucket(100, 100)).toBeNull();
    expect(decodeBucket(600, Infinity)).toBeNull();
    const b = batchOf([7, 7, 7, 7, 7], [[1], [2], [3], [4], [5]], 3);
    expect(isDecodeOnly(b)).toBe(true);
    const p = padDecodeBatch(b, 8);
    expect([...p.tokenIds]).toEqual([1, 2, 3, 4, 5, 0, 0, 0]);
    expect([...p.slots.subarray(5)]).toEqual([-1, -1, -1]);
    expect([...p.contextLens]).toEqual([8, 8, 8, 8, 8, 1, 1, 1]);
    expect([...p.queryStarts]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(p.maxBlocksPerSeq).toBe(4);
    expect([...p.blockTables.subarray(4, 8)]).toEqual([3, 4, 5, -1]);
    expect([...p.blockTables.subarray(20, 24)]).toEqual([0, -1, -1, -1]);
    expect([...p.logitRows]).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(isDecodeOnly(batchOf([0, 7], [[1, 2], [3]], 3))).toBe(false);
  });
});

describe.each(fixtures)("decode buckets on %s", (name) => {
  const golden = new Golden(name);
  const m = loadModel(fixtureDir(name), backend);
  loaded.push(m);
  const cases = golden.textCases().map((c) => [...golden.i32(`${c}.input_ids`)]);

  /** `numSeqs` prompts (case s mod count) decoded STEPS tokens, padded to their bucket or not. */
  function run(numSeqs: number, dtype: KvCacheDtype, decodeBuckets: boolean, portable: boolean, steps = STEPS) {
    const prompts = Array.from({ length: numSeqs }, (_, s) => cases[s % cases.length]);
    backend.useCpuFeatures(portable ? 0 : -1);
    try {
      const active = (step: number) => [numSeqs, numSeqs, 3, 3, 1][step];
      const shaping = { decodeBuckets, graphs: false };
      return decodeRun(backend, m, prompts, { dtype, shaping, steps, ...(steps > STEPS ? { active } : {}) });
    } finally {
      backend.useCpuFeatures(-1);
    }
  }

  it.each(
    [
      [3, "f32"],
      [5, "bf16"],
      [6, "fp8"],
    ] as const,
  )("%i sequences (%s KV): real rows' logits, tokens and KV bit-identical padded", (numSeqs, dtype) => {
    const plain = run(numSeqs, dtype, false, true), padded = run(numSeqs, dtype, true, true);
    expectSameRun(padded, plain);
  });

  it("a batch moving between buckets (6, 6, 3, 3, 1 sequences): the same, bit for bit", () => {
    const plain = run(6, "f32", false, true, 5), padded = run(6, "f32", true, true, 5);
    expectSameRun(padded, plain);
  });

  it("with the AVX2 kernels: the same tokens, logits within 1e-5", () => {
    const plain = run(5, "bf16", false, false), padded = run(5, "bf16", true, false);
    expect(padded.tokens).toEqual(plain.tokens);
    padded.logits.forEach((step, i) =>
      step.forEach((x, j) => {
        if (!(Math.abs(x - plain.logits[i][j]) <= 1e-5 * (1 + Math.abs(x)))) {
          expect.fail(`step ${i} logit ${j}: padded ${x}, unpadded ${plain.logits[i][j]}`);
        }
      })
    );
  });
});
