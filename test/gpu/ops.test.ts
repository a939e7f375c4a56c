// CUDA vs CPU, op by op, for everything but the linears and attention (linear.test.ts, attention.test.ts):
// memory, FP8 codes, embedding, RMSNorm, RoPE, query scale, SwiGLU, add, argmax, row gather/scatter,
// GELU, the bandwidth probe, and the index checks (reported at the next synchronizing call).
import { describe, expect, it } from "vitest";
import { type Backend, DType, type WeightRef } from "../../ffi/backend.ts";
import { Rng } from "../../runtime/sampling/rng.ts";
import { randomF32, randomWeights } from "../helpers/random.ts";
import type { WeightKind } from "../helpers/reference-ops.ts";
import { cpu, expectExact, expectWithin, gpuOrSkip, onBoth } from "./parity.ts";

const gpu = gpuOrSkip("ops");
const g = () => gpu as Backend;
const dtypeOf: Record<WeightKind, DType> = { f32: DType.F32, f16: DType.F16, bf16: DType.BF16, fp8: DType.F8_E4M3 };
const ref = (buffer: WeightRef["buffer"], dtype: DType): WeightRef => ({ buffer, dtype, actScale: 0, weightScale: 1 });
const ODD = [1, 3, 7, 33, 100, 1001, 4099];

describe.skipIf(!gpu)("CUDA ops match the CPU backend", () => {
  const rng = new Rng(901);

  it("alloc zero-fills; upload, download and copy (overlapping ranges too) move the right bytes", () => {
    const b = g();
    using buf = b.alloc(1000);
    expect(Array.from(b.download(buf, new Uint8Array(1000))).every((v) => v === 0)).toBe(true);
    const data = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) & 255);
    b.upload(buf, data);
    b.copy(buf, 10, buf, 0, 500); // overlapping, forwards
    b.copy(buf, 600, buf, 700, 300); // overlapping, backwards
    const want = Uint8Array.from(data);
    want.copyWithin(10, 0, 500);
    want.copyWithin(600, 700, 1000);
    expectExact(b.download(buf, new Uint8Array(1000)), want, "copy");
    expectExact(b.download(buf, new Uint8Array(17), 303), want.subarray(303, 320), "download at an offset");
    using empty = b.alloc(0);
    expect(empty.byteLength).toBe(0);
  });

  it("read_probe sums the buffer's words like the CPU probe", () => {
    for (const n of [4, 1003, 1 << 20]) {
      const x = randomF32(rng, n);
      using a = cpu.fromHost(x);
      using c = g().fromHost(x);
      const want = cpu.readProbe(a), got = g().readProbe(c);
      expect(Math.abs(got - want), `n=${n}`).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(want)) + 1e-6 * Math.sqrt(n));
    }
  });

  it("fp8 quantize and dequantize give the CPU's codes and values bit for bit", () => {
    const special = [0, -0, 448, 449, -1e9, Infinity, -Infinity, NaN, 0.015625, 0.0009765625, 2 ** -10, 1.0625, 1.1875];
    const x = Float32Array.from([...special, ...randomF32(rng, 5000).map((v, i) => v * 10 ** ((i % 9) - 5))]);
    for (const scale of [1, 0.0123, 3.7]) {
      const [a, b] = onBoth(
        g(),
        [x],
        () => new Uint8Array(x.length),
        (be, [xb], o) => be.fp8Quantize(o, xb, x.length, scale),
      );
      expectExact(b, a, `fp8_quantize scale ${scale}`);
    }
    const codes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const [a, b] = onBoth(
      g(),
      [codes],
      () => new Float32Array(256),
      (be, [cb], o) => be.fp8Dequantize(o, cb, 256, 0.37),
    );
    expectExact(b, a, "fp8_dequantize");
  });

  it.each(["f32", "f16", "bf16"] as WeightKind[])("embedding gathers %s rows exactly", (kind) => {
    const vocab = 301, dim = 77, table = randomWeights(rng, kind, vocab * dim);
    const ids = Int32Array.of(300, 0, 5, 5, 123, 299);
    const [a, b] = onBoth(
      g(),
      [table, ids],
      () => new Float32Array(ids.length * dim),
      (be, [tb, ib], o) => be.embed(o, ref(tb, dtypeOf[kind]), ib, ids.length, vocab, dim),
    );
    expectExact(b, a, `embed ${kind}`);
  });

  it.each(["f32", "f16", "bf16"] as WeightKind[])("rmsnorm with a %s weight (f64 sum of squares on both)", (kind) => {
    for (const [T, C] of [[1, 1], [3, 37], [2, 4096], [5, 12288], [1, 28672]]) {
      const x = randomF32(rng, T * C, 3), w = randomWeights(rng, kind, C);
      const [a, b] = onBoth(
        g(),
        [x, w],
        () => new Float32Array(T * C),
        (be, [xb, wb], o) => be.rmsnorm(o, xb, ref(wb, dtypeOf[kind]), T, C, 1e-5),
      );
      expectWithin(b, a, { abs: 1e-7, rel: 1e-6, nmse: 1e-12 }, `rmsnorm ${kind} ${T}x${C}`);
    }
  });

  it("rope and the llama-4 query scale", () => {
    for (const [T, H, D, L] of [[5, 3, 10, 9], [1, 96, 128, 4096], [17, 8, 128, 300], [4, 2, 2, 4]]) {
      const x = randomF32(rng, T * H * D), pos = Int32Array.from({ length: T }, (_, i) => (i * 37 + 3) % L);
      const cos = randomF32(rng, (L * D) / 2), sin = randomF32(rng, (L * D) / 2);
      const [a, b] = onBoth(g(), [x, pos, cos, sin], () => new Float32Array(T * H * D), (be, [xb, pb, cb, sb], o) => {
        be.copy(o, 0, xb, 0, x.byteLength);
        be.rope(o, pb, cb, sb, T, H, D, L);
        be.queryScale(o, pb, T, H * D, 0.1, 4);
      });
      expectWithin(b, a, { abs: 1e-6, rel: 1e-5, nmse: 1e-12 }, `rope + query scale ${T}x${H}x${D}`);
    }
  });

  it("silu-gate, add (in place too) and gelu on odd lengths", () => {
    for (const n of ODD) {
      const x = randomF32(rng, n, 8), y = randomF32(rng, n, 3);
      let [a, b] = onBoth(g(), [x, y], () => new Float32Array(n), (be, [xb, yb], o) => be.siluMul(o, xb, yb, n));
      expectWithin(b, a, { abs: 1e-7, rel: 2e-6, nmse: 1e-12 }, `silu_mul n=${n}`);
      [a, b] = onBoth(g(), [x, y], () => new Float32Array(n), (be, [xb, yb], o) => {
        be.add(xb, xb, yb, n);
        be.copy(o, 0, xb, 0, n * 4);
      });
      expectExact(b, a, `add in place n=${n}`);
      [a, b] = onBoth(g(), [x], () => new Float32Array(n), (be, [xb], o) => be.gelu(o, xb, n));
      // gelu(x) = ½·x·(1 + erf(x/√2)): an erff result 1–2 ulp of 1.0 apart (CUDA vs glibc) moves the output by up to
      // ½·|x|·2.4e-7 where 1 + erf cancels (x ≈ −4: 5e-7), so the absolute budget scales with the inputs' range
      expectWithin(b, a, { abs: 1e-6, rel: 2e-6, nmse: 1e-12 }, `gelu n=${n}`);
    }
  });

  it("argmax: first index on ties, NaN never wins except in column 0, all −∞ rows give 0", () => {
    const rows = 9, len = 20001, x = randomF32(rng, rows * len);
    x[1 * len + 7] = 50;
    x[1 * len + 19000] = 50; // tie: 7
    x[2 * len + 0] = NaN; // the CPU's running best is stuck at 0
    x[3 * len + 5] = NaN;
    x[3 * len + 6] = 40; // NaN skipped
    for (let i = 0; i < len; i++) x[4 * len + i] = -Infinity;
    x[5 * len + len - 1] = 99; // last column
    const [a, b] = onBoth(g(), [x], () => new Int32Array(rows), (be, [xb], o) => be.argmax(o, xb, rows, len));
    expectExact(b, a, "argmax");
    expect(Array.from(a.subarray(1, 6))).toEqual([7, 0, 6, 0, len - 1]);
  });

  it("gather rows and scatter rows (a repeated destination keeps the last source row)", () => {
    const src = 13, len = 301, x = randomF32(rng, src * len);
    const rows = Int32Array.of(12, 0, 5, 5, 12);
    let [a, b] = onBoth(
      g(),
      [x, rows],
      () => new Float32Array(rows.length * len),
      (be, [xb, rb], o) => be.gatherRows(o, xb, rb, rows.length, len, src),
    );
    expectExact(b, a, "gather_rows");
    const base = randomF32(rng, src * len), vals = randomF32(rng, rows.length * len);
    [a, b] = onBoth(g(), [base, vals, rows], () => new Float32Array(src * len), (be, [bb, vb, rb], o) => {
      be.copy(o, 0, bb, 0, base.byteLength);
      be.scatterRows(o, vb, rb, rows.length, len, src);
    });
    expectExact(b, a, "scatter_rows");
  });
});

describe.skipIf(!gpu)("CUDA index checks report the CPU's messages at the next synchronizing call", () => {
  const expectReported = (launch: () => void, message: RegExp) => {
    expect(() => {
      launch();
      g().synchronize();
    }).toThrow(message);
    g().synchronize(); // reported once, then cleared: the backend keeps working
  };

  it("bad ids, positions, slots and rows", () => {
    const b = g();
    using table = b.alloc(4 * 4 * 2);
    using ids = b.fromHost(Int32Array.of(1, 4));
    using out = b.alloc(2 * 2 * 4);
    expectReported(
      () => b.embed(out, ref(table, DType.F32), ids, 2, 4, 2),
      /token id 4 at row 1 is outside the vocabulary \[0, 4\)/,
    );
    using x = b.alloc(64);
    using pos = b.fromHost(Int32Array.of(9));
    expectReported(() => b.rope(x, pos, x, x, 1, 1, 2, 1), /position 9 at row 0 is outside the rotary table \[0, 1\)/);
    using slots = b.fromHost(Int32Array.of(100));
    expectReported(() => b.kvWrite(x, x, x, x, slots, 1, 1, 1, 2, 2), /slot 100 of row 0 is outside \[-1, 4\)/);
    using rows = b.fromHost(Int32Array.of(0, 7));
    expectReported(() => b.gatherRows(x, x, rows, 2, 1, 3), /gust_gather_rows: row 7 is outside \[0, 3\)/);
    expectReported(() => b.scatterRows(x, x, rows, 2, 1, 3), /destination row 7 \(source row 1\) is outside \[0, 3\)/);
    using neg = b.fromHost(Int32Array.of(-2));
    expectReported(() => b.queryScale(x, neg, 1, 1, 0.5, 4), /negative position -2 at row 0/);
  });

  it("bad attention batches: block ids, context shorter than the rows, query_starts not reaching num_tokens", () => {
    const b = g();
    using kc = b.alloc(4 * 2 * 4);
    using q = b.alloc(4 * 2 * 3);
    using out = b.alloc(4 * 2 * 3);
    using starts = b.fromHost(Int32Array.of(0, 1));
    using lens = b.fromHost(Int32Array.of(3));
    using badTable = b.fromHost(Int32Array.of(0, 9));
    const args = {
      out,
      q,
      kCache: kc,
      vCache: kc,
      queryStarts: starts,
      contextLens: lens,
      blockTables: badTable,
      numSeqs: 1,
      numTokens: 1,
      numHeads: 1,
      numKvHeads: 1,
      headDim: 2,
      blockSize: 2,
      maxBlocksPerSeq: 2,
      numBlocks: 2,
      scale: 1,
    };
    expectReported(() => b.attention(args), /sequence 0 block 1 is 9, outside \[0, 2\)/);
    using shortLens = b.fromHost(Int32Array.of(0));
    expectReported(
      () => b.attention({ ...args, contextLens: shortLens }),
      /sequence 0 has 1 query rows but only 0 cached tokens/,
    );
    using wrongStarts = b.fromHost(Int32Array.of(0, 2));
    expectReported(
      () => b.attention({ ...args, queryStarts: wrongStarts }),
      /query_starts must run from 0 to num_tokens 1, got 0\.\.2/,
    );
    using seg = b.fromHost(Int32Array.of(0, 2, 1));
    expectReported(
      () =>
        b.segmentAttention({
          out,
          q,
          k: q,
          v: q,
          segmentStarts: seg,
          numSegments: 2,
          numTokens: 1,
          numHeads: 1,
          numKvHeads: 1,
          headDim: 2,
          scale: 1,
        }),
      /segment_starts must run from 0 to num_tokens 1, got 0\.\.1|decreases at segment 1/,
    );
  });

  it("host-side checks fail at once with the CPU's messages", () => {
    const b = g();
    using w8 = b.alloc(4);
    using x = b.alloc(16);
    expect(() => b.linear(x, x, { buffer: w8, dtype: DType.F8_E4M3, actScale: 0, weightScale: 1 }, 1, 2, 2)).toThrow(
      /positive static activation scale/,
    );
    expect(() => b.fp8Quantize(x, x, 1, 0)).toThrow(/scale must be a positive finite number/);
    expect(() => b.rope(x, x, x, x, 1, 1, 3, 1)).toThrow(/head_dim 3 must be even/);
  });
});
