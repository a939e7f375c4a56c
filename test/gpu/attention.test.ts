// CUDA attention vs the CPU backend: the paged KV write and causal GQA attention over ragged batches
// (decode rows on the flash-decoding kernel, long sequences on the FlashAttention-style kernel, both in
// one call), long contexts that split, odd head dims, block sizes 1..16, GQA groups above 16, MQA; and
// the vision tower's segment attention with small and large segments.
import { describe, expect, it } from "vitest";
import { f32KvFormat } from "../../ffi/backend-api.ts";
import type { Backend } from "../../ffi/backend.ts";
import { Rng } from "../../runtime/sampling/rng.ts";
import { randomF32 } from "../helpers/random.ts";
import { type Case, makeProblem, runPaged } from "./attention-problem.ts";
import { type Budget, cpu, expectExact, expectWithin, gpuOrSkip, onBoth } from "./parity.ts";

const gpu = gpuOrSkip("attention");
const BUDGET: Budget = { abs: 2e-5, rel: 1e-4, nmse: 1e-9 };

const cases: Case[] = [
  {
    name: "decode rows, real GQA group (96/8 → 12), D 128",
    seqs: [{ cached: 0, rows: 1 }, { cached: 16, rows: 1 }, { cached: 299, rows: 1 }],
    H: 24,
    KV: 2,
    D: 128,
    blockSize: 16,
  },
  { name: "one prefill from scratch, D 64", seqs: [{ cached: 0, rows: 37 }], H: 8, KV: 2, D: 64, blockSize: 16 },
  {
    name: "ragged: prefill + decode + chunk + 2-row verify, D 16, block 3",
    seqs: [{ cached: 0, rows: 9 }, { cached: 49, rows: 1 }, { cached: 20, rows: 6 }, { cached: 100, rows: 2 }],
    H: 6,
    KV: 2,
    D: 16,
    blockSize: 3,
  },
  {
    name: "odd head dim 5, block size 1",
    seqs: [{ cached: 3, rows: 7 }, { cached: 0, rows: 1 }],
    H: 4,
    KV: 4,
    D: 5,
    blockSize: 1,
  },
  {
    name: "head dim 10 (not a multiple of 4)",
    seqs: [{ cached: 11, rows: 13 }, { cached: 5, rows: 1 }],
    H: 6,
    KV: 3,
    D: 10,
    blockSize: 4,
  },
  {
    name: "head dim 12, group 2",
    seqs: [{ cached: 0, rows: 40 }, { cached: 30, rows: 3 }],
    H: 4,
    KV: 2,
    D: 12,
    blockSize: 8,
  },
  {
    name: "long decode context that splits (9000 keys)",
    seqs: [{ cached: 8999, rows: 1 }],
    H: 12,
    KV: 1,
    D: 128,
    blockSize: 16,
  },
  {
    name: "batch of decodes with mixed long contexts",
    seqs: [{ cached: 4000, rows: 1 }, { cached: 1, rows: 1 }, { cached: 2500, rows: 1 }],
    H: 16,
    KV: 8,
    D: 128,
    blockSize: 16,
  },
  {
    name: "chunked prefill after a long cache, D 128",
    seqs: [{ cached: 700, rows: 300 }],
    H: 16,
    KV: 4,
    D: 128,
    blockSize: 16,
  },
  {
    name: "head dim 256 (decode kernel for every row)",
    seqs: [{ cached: 10, rows: 20 }, { cached: 300, rows: 1 }],
    H: 4,
    KV: 2,
    D: 256,
    blockSize: 16,
  },
  {
    name: "head dim 130 (unaligned rows, two dims per thread)",
    seqs: [{ cached: 5, rows: 9 }, { cached: 40, rows: 1 }],
    H: 2,
    KV: 1,
    D: 130,
    blockSize: 5,
  },
  {
    name: "GQA group of 20 (two head chunks), MQA",
    seqs: [{ cached: 33, rows: 1 }, { cached: 0, rows: 12 }],
    H: 20,
    KV: 1,
    D: 64,
    blockSize: 16,
  },
  {
    name: "a sequence with no rows this step",
    seqs: [{ cached: 8, rows: 0 }, { cached: 2, rows: 5 }],
    H: 2,
    KV: 1,
    D: 32,
    blockSize: 4,
  },
];

describe.skipIf(!gpu)("CUDA paged attention matches the CPU backend", () => {
  const rng = new Rng(4242);
  it.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const p = makeProblem(rng, c);
    const want = runPaged(cpu, p), got = runPaged(gpu as Backend, p);
    expectExact(got.kCache, want.kCache, `${c.name}: k cache after kv_write`);
    expectExact(got.vCache, want.vCache, `${c.name}: v cache after kv_write`);
    expectWithin(got.out, want.out, BUDGET, `${c.name}: attention`);
  });

  it("every output row is written (poisoned output buffer)", () => {
    const p = makeProblem(rng, cases[2]), poison = new Float32Array(p.slots.length * p.c.H * p.c.D).fill(NaN);
    expect(runPaged(gpu as Backend, p, f32KvFormat, poison).out.every(Number.isFinite)).toBe(true);
  });
});

describe.skipIf(!gpu)("CUDA segment attention matches the CPU backend", () => {
  const rng = new Rng(515);
  it.each([
    ["one segment", [13], 3, 3, 12],
    ["three images, odd sizes", [6, 1, 9], 4, 4, 7],
    ["GQA and an empty segment", [5, 0, 11], 6, 2, 5],
    ["many small segments", [2, 3, 1, 4, 2, 2], 2, 1, 16],
    ["large segments on the tiled kernel, D 64", [300, 77, 5], 16, 16, 64],
    ["one large image, D 128, GQA", [1000], 8, 2, 128],
  ] as [string, number[], number, number, number][])("%s", (_name, lens, H, KV, D) => {
    const starts = Int32Array.from([0, ...lens.map((_, i) => lens.slice(0, i + 1).reduce((a, b) => a + b, 0))]);
    const T = starts[starts.length - 1];
    const q = randomF32(rng, T * H * D, 2), k = randomF32(rng, T * KV * D, 2), v = randomF32(rng, T * KV * D);
    const [want, got] = onBoth(
      gpu as Backend,
      [q, k, v, starts],
      () => new Float32Array(T * H * D),
      (b, [qb, kb, vb, sb], o) =>
        b.segmentAttention({
          out: o,
          q: qb,
          k: kb,
          v: vb,
          segmentStarts: sb,
          numSegments: lens.length,
          numTokens: T,
          numHeads: H,
          numKvHeads: KV,
          headDim: D,
          scale: 1 / Math.sqrt(D),
        }),
    );
    expectWithin(got, want, BUDGET, `segment attention ${lens.join("/")} H${H} KV${KV} D${D}`);
  });
});
