// Each CPU kernel against its plain TypeScript twin on random shapes (odd sizes included), on both the
// vector path and the portable C path.
import { afterAll, describe, expect, it } from "vitest";
import { type Backend, createBackend, DType, type WeightRef } from "../../ffi/backend.ts";
import { Rng } from "../../runtime/sampling/rng.ts";
import { closeness, describe as explain } from "../helpers/compare.ts";
import { randomF32, randomInt, randomWeights } from "../helpers/random.ts";
import {
  attentionRef,
  bf16ToF32,
  linearRef,
  rmsnormRef,
  ropeRef,
  type WeightKind,
  weightValue,
} from "../helpers/reference-ops.ts";

const backend: Backend = createBackend("cpu");
const dtypeOf: Record<WeightKind, DType> = { f32: DType.F32, f16: DType.F16, bf16: DType.BF16, fp8: DType.F8_E4M3 };
// feature masks: AVX-512 FP8 decode + AVX2, AVX2 alone, portable C (bits the CPU lacks stay off)
const paths = backend.vectorized ? [3, 1, 0] : [0];

afterAll(() => backend.useVectorKernels(true));

// [tokens, outputs, inputs]: decode and row-dot shapes, then GEMM shapes (12+ tokens) whose tokens, rows and
// inputs cross its 16-token tiles, 48-row tasks and 256-input blocks
const LINEAR_SHAPES = [[1, 7, 5], [1, 33, 67], [1, 5, 200], [3, 17, 40], [5, 9, 129], [8, 31, 16], [2, 1, 300]]
  .concat([[9, 50, 300], [12, 13, 45], [17, 97, 513], [40, 7, 8], [33, 49, 37], [16, 48, 256]])
  // tiles over several K blocks (1,024 inputs at 4 tokens, 2,048 at 2, 4,096 at 1 of 16-bit weights), rows left over
  .concat([[4, 7, 2085], [6, 6, 4100], [1, 9, 4200]]);

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, abs: number, rel: number, what: string) {
  const c = closeness(got, want, abs, rel);
  expect(c.ok, `${what}: ${explain(c)}`).toBe(true);
}

describe.each(paths)("CPU kernels (feature mask %i)", (mask) => {
  backend.useCpuFeatures(mask);
  const rng = new Rng(11 + mask);

  it.each(["f32", "f16", "bf16", "fp8"] as WeightKind[])("linear with %s weights matches the TS loop", (kind) => {
    backend.useCpuFeatures(mask);
    for (const [T, N, K] of LINEAR_SHAPES) {
      const x = randomF32(rng, T * K, 2);
      const wBytes = randomWeights(rng, kind, N * K);
      const actScale = kind === "fp8" ? 0.013 : 0, weightScale = kind === "fp8" ? 0.5 : 1.5;
      using xb = backend.fromHost(x);
      using wb = backend.fromHost(wBytes);
      using yb = backend.alloc(T * N * 4);
      backend.linear(yb, xb, { buffer: wb, dtype: dtypeOf[kind], actScale, weightScale }, T, N, K);
      const got = backend.download(yb, new Float32Array(T * N));
      const { y, magnitude } = linearRef(x, wBytes, kind, T, N, K, actScale, weightScale);
      for (let i = 0; i < y.length; i++) {
        const bound = 1e-6 * K * magnitude[i] + 1e-30;
        expect(Math.abs(got[i] - y[i]), `${kind} T${T} N${N} K${K} element ${i}`).toBeLessThanOrEqual(bound);
      }
    }
  });

  it("embedding gathers rows of bf16, f16 and f32 tables", () => {
    backend.useCpuFeatures(mask);
    for (const kind of ["f32", "f16", "bf16"] as WeightKind[]) {
      const vocab = 13, dim = 7, table = randomWeights(rng, kind, vocab * dim);
      const ids = Int32Array.of(12, 0, 5, 5);
      using tb = backend.fromHost(table);
      using ib = backend.fromHost(ids);
      using ob = backend.alloc(ids.length * dim * 4);
      backend.embed(ob, { buffer: tb, dtype: dtypeOf[kind], actScale: 0, weightScale: 1 }, ib, ids.length, vocab, dim);
      const want = Array.from(ids).flatMap((id) =>
        Array.from({ length: dim }, (_, c) => weightValue(table, kind, id * dim + c))
      );
      expectClose(backend.download(ob, new Float32Array(want.length)), want, 0, 0, `embed ${kind}`);
    }
  });

  // the vector path sums squares in f32, the portable twin in double: both within 1e-6 of the reference
  it.each(["bf16", "f16", "f32"] as WeightKind[])("rmsnorm with a %s weight matches", (kind) => {
    backend.useCpuFeatures(mask);
    for (const [T, C] of [[3, 37], [2, 4099]]) {
      const x = randomF32(rng, T * C, 3), w = randomWeights(rng, kind, C);
      using xb = backend.fromHost(x);
      using wb = backend.fromHost(w);
      using yb = backend.alloc(T * C * 4);
      backend.rmsnorm(yb, xb, { buffer: wb, dtype: dtypeOf[kind], actScale: 0, weightScale: 1 }, T, C, 1e-5);
      const wv = Array.from({ length: C }, (_, c) => weightValue(w, kind, c));
      const want = rmsnormRef(x, wv, T, C, 1e-5);
      expectClose(backend.download(yb, new Float32Array(T * C)), want, 1e-6, 1e-6, `rmsnorm ${kind} ${T}×${C}`);
    }
  });

  it("rope and the llama-4 query scale match", () => {
    backend.useCpuFeatures(mask);
    const T = 5, H = 3, D = 10, L = 9;
    const x = randomF32(rng, T * H * D), pos = Int32Array.of(0, 8, 3, 3, 7);
    const cos = randomF32(rng, L * D / 2), sin = randomF32(rng, L * D / 2);
    using xb = backend.fromHost(x);
    using pb = backend.fromHost(pos);
    using cb = backend.fromHost(cos);
    using sb = backend.fromHost(sin);
    backend.rope(xb, pb, cb, sb, T, H, D, L);
    const roped = ropeRef(x, pos, cos, sin, T, H, D);
    expectClose(backend.download(xb, new Float32Array(T * H * D)), roped, 1e-6, 1e-6, "rope");
    backend.queryScale(xb, pb, T, H * D, 0.1, 4);
    const scaled = roped.map((v, i) => v * (1 + 0.1 * Math.log(1 + Math.floor(pos[Math.floor(i / (H * D))] / 4))));
    expectClose(backend.download(xb, new Float32Array(T * H * D)), scaled, 1e-6, 1e-6, "query scale");
  });

  it("paged KV write and ragged causal GQA attention match", () => {
    backend.useCpuFeatures(mask);
    const H = 6, KV = 2, D = 5, blockSize = 3, numBlocks = 12, maxBlocks = 4;
    // seq 0 prefills 4 tokens from scratch, seq 1 decodes its 8th token, seq 2 appends a 3-token chunk after 5
    const queryCounts = [4, 1, 3], contextLens = Int32Array.of(4, 8, 8);
    const blockTables = Int32Array.of(7, 2, -1, -1, 0, 11, 4, -1, 9, 1, 3, -1);
    const queryStarts = Int32Array.of(0, 4, 5, 8);
    const T = 8, row = KV * D;
    const kCache = randomF32(rng, numBlocks * blockSize * row), vCache = randomF32(rng, numBlocks * blockSize * row);
    const k = randomF32(rng, T * row), v = randomF32(rng, T * row), q = randomF32(rng, T * H * D);
    const slots = new Int32Array(T);
    for (let s = 0, r = 0; s < 3; s++) {
      for (let j = 0; j < queryCounts[s]; j++, r++) {
        const p = contextLens[s] - queryCounts[s] + j;
        slots[r] = blockTables[s * maxBlocks + Math.floor(p / blockSize)] * blockSize + (p % blockSize);
      }
    }
    using kc = backend.fromHost(kCache);
    using vc = backend.fromHost(vCache);
    using kb = backend.fromHost(k);
    using vb = backend.fromHost(v);
    using sb = backend.fromHost(slots);
    backend.kvWrite(kc, vc, kb, vb, sb, T, KV, D, numBlocks, blockSize);
    for (let t = 0; t < T; t++) {
      kCache.set(k.subarray(t * row, (t + 1) * row), slots[t] * row);
      vCache.set(v.subarray(t * row, (t + 1) * row), slots[t] * row);
    }
    expectClose(backend.download(kc, new Float32Array(kCache.length)), kCache, 0, 0, "k cache");
    using qb = backend.fromHost(q);
    using ob = backend.alloc(T * H * D * 4);
    using qs = backend.fromHost(queryStarts);
    using cl = backend.fromHost(contextLens);
    using bt = backend.fromHost(blockTables);
    backend.attention({
      out: ob,
      q: qb,
      kCache: kc,
      vCache: vc,
      queryStarts: qs,
      contextLens: cl,
      blockTables: bt,
      numSeqs: 3,
      numTokens: T,
      numHeads: H,
      numKvHeads: KV,
      headDim: D,
      blockSize,
      maxBlocksPerSeq: maxBlocks,
      numBlocks,
      scale: 0.4,
    });
    const want = attentionRef(
      q,
      kCache,
      vCache,
      { queryStarts, contextLens, blockTables, maxBlocks, blockSize },
      H,
      KV,
      D,
      0.4,
    );
    expectClose(backend.download(ob, new Float32Array(T * H * D)), want, 1e-5, 1e-5, "attention");
  });

  it("silu-gate, add, argmax and row gather match", () => {
    backend.useCpuFeatures(mask);
    const n = 77, g = randomF32(rng, n, 6), u = randomF32(rng, n, 2);
    using gb = backend.fromHost(g);
    using ub = backend.fromHost(u);
    using ob = backend.alloc(n * 4);
    backend.siluMul(ob, gb, ub, n);
    expectClose(
      backend.download(ob, new Float32Array(n)),
      Array.from(g, (x, i) => (x / (1 + Math.exp(-x))) * u[i]),
      1e-6,
      1e-5,
      "silu_mul",
    );
    backend.add(ob, gb, ub, n);
    expectClose(backend.download(ob, new Float32Array(n)), Array.from(g, (x, i) => Math.fround(x + u[i])), 0, 0, "add");
    const rows = 7, len = 11, x = randomF32(rng, rows * len);
    x[3 * len + 4] = 5;
    x[3 * len + 9] = 5; // tie: the first wins
    using xb = backend.fromHost(x);
    using ab = backend.alloc(rows * 4);
    backend.argmax(ab, xb, rows, len);
    const want = Array.from({ length: rows }, (_, r) => {
      let best = 0;
      for (let i = 1; i < len; i++) if (x[r * len + i] > x[r * len + best]) best = i;
      return best;
    });
    expect(Array.from(backend.download(ab, new Int32Array(rows)))).toEqual(want);
    expect(want[3]).toBe(4);
    using ri = backend.fromHost(Int32Array.of(6, 0, 6));
    using gr = backend.alloc(3 * len * 4);
    backend.gatherRows(gr, xb, ri, 3, len, rows);
    expectClose(
      backend.download(gr, new Float32Array(3 * len)),
      [...x.subarray(6 * len, 7 * len), ...x.subarray(0, len), ...x.subarray(6 * len, 7 * len)],
      0,
      0,
      "gather",
    );
  });
});

describe("kernel argument checks", () => {
  it("reject out-of-range ids, positions, slots and block ids with a message", () => {
    const ref = (buffer: ReturnType<Backend["alloc"]>): WeightRef => ({
      buffer,
      dtype: DType.F32,
      actScale: 0,
      weightScale: 1,
    });
    using table = backend.alloc(4 * 4 * 2);
    using ids = backend.fromHost(Int32Array.of(1, 4));
    using out = backend.alloc(2 * 2 * 4);
    expect(() => backend.embed(out, ref(table), ids, 2, 4, 2)).toThrow(
      /token id 4 at row 1 is outside the vocabulary \[0, 4\)/,
    );
    using x = backend.alloc(4 * 4);
    using pos = backend.fromHost(Int32Array.of(9));
    expect(() => backend.rope(x, pos, x, x, 1, 1, 2, 1)).toThrow(/position 9 .* outside the rotary table/);
    using slots = backend.fromHost(Int32Array.of(100));
    expect(() => backend.kvWrite(x, x, x, x, slots, 1, 1, 1, 2, 2)).toThrow(/slot 100 .* outside/);
    using w8 = backend.alloc(4);
    expect(() => backend.linear(x, x, { buffer: w8, dtype: DType.F8_E4M3, actScale: 0, weightScale: 1 }, 1, 2, 2))
      .toThrow(/positive static activation scale/);
    expect(bf16ToF32(0x3f80)).toBe(1);
  });
});
