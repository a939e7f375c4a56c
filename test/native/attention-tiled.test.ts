// The flash-style attention (kernels/cpu/attention_tiled.c) against its specs: the portable C loop (feature mask 0)
// and the TypeScript reference, on shapes that cross its tiles: contexts over one 64-key tile, prefill chunks
// over one row tile, GQA groups of 1 to 12, head sizes 8 to 128, decode and chunked prefill rows in one batch; and
// each KV storage format (f32, bf16, FP8 with its scales), caches filled through backend.kvWrite.
import { describe, expect, it } from "vitest";
import { type Backend, createBackend, DType, f32KvFormat, type KvFormat } from "../../ffi/backend.ts";
import { Rng } from "../../runtime/sampling/rng.ts";
import { closeness, describe as explain } from "../helpers/compare.ts";
import { randomF32 } from "../helpers/random.ts";
import { attentionRef, bf16ToF32, e4m3Value } from "../helpers/reference-ops.ts";

const backend: Backend = createBackend("cpu");
// feature masks this CPU can run besides the portable one (AVX-512 bit included where present)
const fast = backend.vectorized ? [1, 3] : [];

interface Case {
  heads: number;
  kvHeads: number;
  headDim: number;
  blockSize: number;
  /** per sequence: [query rows this step, tokens in the cache including them] */
  seqs: Array<[number, number]>;
}

/** Random q and caches (written by kvWrite in `format`), a shuffled block table per sequence; returns attention
 * under each feature mask and the TS reference over the cache's decoded values. */
function run(c: Case, rng: Rng, masks: number[], format: KvFormat = f32KvFormat) {
  const { heads: H, kvHeads: KV, headDim: D, blockSize } = c;
  const maxBlocks = Math.max(...c.seqs.map(([, ctx]) => Math.ceil(ctx / blockSize)));
  const numBlocks = c.seqs.length * maxBlocks + 3;
  const order = Array.from({ length: numBlocks }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rng.nextFloat() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const blockTables = new Int32Array(c.seqs.length * maxBlocks).fill(-1);
  c.seqs.forEach(([, ctx], s) => {
    for (let b = 0; b < Math.ceil(ctx / blockSize); b++) blockTables[s * maxBlocks + b] = order[s * maxBlocks + b];
  });
  const queryStarts = new Int32Array(c.seqs.length + 1);
  c.seqs.forEach(([rows], s) => (queryStarts[s + 1] = queryStarts[s] + rows));
  const contextLens = Int32Array.from(c.seqs.map(([, ctx]) => ctx));
  const T = queryStarts[c.seqs.length];
  const numSlots = numBlocks * blockSize;
  const q = randomF32(rng, T * H * D, 1.5);
  using qb = backend.fromHost(q);
  using kc = backend.alloc(numSlots * KV * D * 4);
  using vc = backend.alloc(numSlots * KV * D * 4);
  {
    // every slot written, in slot order: token t of this write lands in slot t
    using kb = backend.fromHost(randomF32(rng, numSlots * KV * D, 1.5));
    using vb = backend.fromHost(randomF32(rng, numSlots * KV * D));
    using sb = backend.fromHost(Int32Array.from({ length: numSlots }, (_, t) => t));
    backend.kvWrite(kc, vc, kb, vb, sb, numSlots, KV, D, numBlocks, blockSize, format);
  }
  const kCache = decodeCache(kc, numSlots * KV * D, format.dtype, format.kScale);
  const vCache = decodeCache(vc, numSlots * KV * D, format.dtype, format.vScale);
  using qs = backend.fromHost(queryStarts);
  using cl = backend.fromHost(contextLens);
  using bt = backend.fromHost(blockTables);
  using ob = backend.alloc(T * H * D * 4);
  const scale = 1 / Math.sqrt(D);
  const outputs = masks.map((mask) => {
    backend.useCpuFeatures(mask);
    backend.attention({
      out: ob,
      q: qb,
      kCache: kc,
      vCache: vc,
      queryStarts: qs,
      contextLens: cl,
      blockTables: bt,
      numSeqs: c.seqs.length,
      numTokens: T,
      numHeads: H,
      numKvHeads: KV,
      headDim: D,
      blockSize,
      maxBlocksPerSeq: maxBlocks,
      numBlocks,
      scale,
      kvFormat: format,
    });
    return backend.download(ob, new Float32Array(T * H * D));
  });
  backend.useVectorKernels(true);
  const reference = () =>
    attentionRef(q, kCache, vCache, { queryStarts, contextLens, blockTables, maxBlocks, blockSize }, H, KV, D, scale);
  return { outputs, reference };
}

/** The f32 values a cache of `n` elements holds, as kernels/gust.h defines each storage format. */
function decodeCache(buffer: Parameters<Backend["download"]>[0], n: number, dtype: DType, scale: number) {
  if (dtype === DType.BF16) return Float32Array.from(backend.download(buffer, new Uint16Array(n)), bf16ToF32);
  if (dtype === DType.F8_E4M3) {
    return Float32Array.from(backend.download(buffer, new Uint8Array(n)), (c) => Math.fround(e4m3Value(c) * scale));
  }
  return backend.download(buffer, new Float32Array(n));
}

const cases: Array<[string, Case]> = [
  ["gust-mini shape, one long prefill chunk", { heads: 8, kvHeads: 2, headDim: 32, blockSize: 16, seqs: [[70, 70]] }],
  ["chunk after a cached prefix, then decodes", {
    heads: 8,
    kvHeads: 2,
    headDim: 32,
    blockSize: 16,
    seqs: [[37, 200], [1, 131], [1, 1], [5, 64]],
  }],
  ["group 12, head 128 (the real model's layout)", {
    heads: 12,
    kvHeads: 1,
    headDim: 128,
    blockSize: 16,
    seqs: [[9, 150], [1, 65]],
  }],
  ["no grouping, head 8, odd block size", {
    heads: 3,
    kvHeads: 3,
    headDim: 8,
    blockSize: 5,
    seqs: [[23, 23], [2, 97]],
  }],
  ["tiny fixture shape: group 2, head 16", {
    heads: 4,
    kvHeads: 2,
    headDim: 16,
    blockSize: 16,
    seqs: [[64, 64], [1, 65], [7, 71]],
  }],
  ["group 3, head 40", { heads: 6, kvHeads: 2, headDim: 40, blockSize: 7, seqs: [[30, 129], [64, 64]] }],
];

describe.skipIf(fast.length === 0)("tiled CPU attention", () => {
  it.each(cases)("%s: equals the portable loop and the TS reference", (_name, c) => {
    const rng = new Rng(c.headDim * 7 + c.heads);
    const { outputs, reference } = run(c, rng, [0, ...fast]);
    const want = reference();
    for (const [i, got] of outputs.entries()) {
      const v = closeness(got, want, 2e-5, 2e-5);
      expect(v.ok, `mask ${[0, ...fast][i]}: ${explain(v)}`).toBe(true);
    }
  });

  it("attends over several thousand keys without drift", () => {
    const rng = new Rng(5);
    const c: Case = { heads: 8, kvHeads: 2, headDim: 32, blockSize: 16, seqs: [[3, 5000], [1, 4097]] };
    const { outputs } = run(c, rng, [0, ...fast]);
    for (const [i, got] of outputs.slice(1).entries()) {
      const v = closeness(got, outputs[0], 1e-5, 1e-4);
      expect(v.ok, `mask ${fast[i]} against the portable loop: ${explain(v)}`).toBe(true);
    }
  });

  const formats: Array<[string, KvFormat]> = [
    ["f32", f32KvFormat],
    ["bf16", { dtype: DType.BF16, kScale: 1, vScale: 1 }],
    ["fp8", { dtype: DType.F8_E4M3, kScale: 0.01, vScale: 0.02 }],
  ];
  describe.each(formats)("over a %s KV cache", (_format, format) => {
    it.each(cases.slice(0, 3))("%s: tiled equals the portable loop and the TS reference", (_name, c) => {
      const rng = new Rng(c.headDim * 11 + format.dtype);
      const { outputs, reference } = run(c, rng, [0, ...fast], format);
      const want = reference();
      for (const [i, got] of outputs.entries()) {
        const v = closeness(got, want, 2e-5, 2e-5);
        expect(v.ok, `mask ${[0, ...fast][i]}: ${explain(v)}`).toBe(true);
        if (i > 0) expect(closeness(got, outputs[0], 1e-6, 1e-5).ok, `mask ${fast[i - 1]} vs portable`).toBe(true);
      }
    });
  });
});
