// Tiny hand-computed vectors through every exported kernel, run when a library loads: a library that
// disagrees with these numbers (stale build, wrong ABI, broken SIMD path) is refused before it serves.
import type { Backend, DeviceBuffer, KvFormat, WeightRef } from "./backend.ts";
import { DType } from "./symbols.ts";

type Check = (b: Backend) => string | null;

function close(got: ArrayLike<number>, want: number[], tol = 1e-5): boolean {
  if (got.length !== want.length) return false;
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= tol * (1 + Math.abs(want[i])))) return false;
  }
  return true;
}

function mismatch(name: string, got: ArrayLike<number>, want: number[]): string | null {
  return close(got, want) ? null : `${name}: got [${Array.from(got).join(", ")}], want [${want.join(", ")}]`;
}

function withBuffers<T>(b: Backend, views: ArrayBufferView[], fn: (bufs: DeviceBuffer[]) => T): T {
  const bufs = views.map((v) => b.fromHost(v));
  try {
    return fn(bufs);
  } finally {
    for (const buf of bufs) buf.dispose();
  }
}

const f32 = (...v: number[]) => new Float32Array(v);
const i32 = (...v: number[]) => new Int32Array(v);
const plain = (buffer: DeviceBuffer, dtype: DType = DType.F32): WeightRef => ({
  buffer,
  dtype,
  actScale: 0,
  weightScale: 1,
});

const checks: Record<string, Check> = {
  memory: (b) => {
    const buf = b.alloc(16);
    try {
      b.upload(buf, f32(1, 2), 4);
      b.copy(buf, 12, buf, 4, 4);
      b.synchronize();
      const sum = b.readProbe(buf);
      if (sum !== 1 + 2 + 1) return `read_probe: checksum ${sum}, want 4`;
      return mismatch("upload/copy/download", b.download(buf, new Float32Array(4)), [0, 1, 2, 1]);
    } finally {
      buf.dispose();
    }
  },
  fp8: (b) =>
    withBuffers(b, [f32(1, -2.25, 500, 0.001, 0), new Uint8Array(5), new Float32Array(5)], ([x, codes, y]) => {
      b.fp8Quantize(codes, x, 5, 1);
      const c = mismatch("fp8_quantize", b.download(codes, new Uint8Array(5)), [0x38, 0xc1, 0x7e, 0x01, 0]);
      if (c) return c;
      b.fp8Dequantize(y, codes, 5, 2);
      return mismatch("fp8_dequantize", b.download(y, new Float32Array(5)), [2, -4.5, 896, 0.00390625, 0]);
    }),
  embed: (b) =>
    withBuffers(b, [f32(1, 2, 3, 4, 5, 6), i32(2, 0), new Float32Array(4)], ([table, ids, out]) => {
      b.embed(out, plain(table), ids, 2, 3, 2);
      return mismatch("embed", b.download(out, new Float32Array(4)), [5, 6, 1, 2]);
    }),
  linear: (b) =>
    withBuffers(b, [
      f32(1, 2),
      f32(1, 0, 1, 1, 2, -1),
      new Uint8Array([0x38, 0, 0x38, 0x38, 0x40, 0xb8]),
      new Float32Array(3),
    ], ([x, w, w8, y]) => {
      b.linear(y, x, { buffer: w, dtype: DType.F32, actScale: 0, weightScale: 2 }, 1, 3, 2);
      const c = mismatch("linear f32", b.download(y, new Float32Array(3)), [2, 6, 0]);
      if (c) return c;
      // x / 0.5 = [2, 4] is exact in e4m3; W = [[1, 0], [1, 1], [2, -1]]; y = (xq·Wᵀ)·0.5·3
      b.linear(y, x, { buffer: w8, dtype: DType.F8_E4M3, actScale: 0.5, weightScale: 3 }, 1, 3, 2);
      return mismatch("linear fp8", b.download(y, new Float32Array(3)), [3, 9, 0]);
    }),
  rmsnorm: (b) =>
    withBuffers(b, [f32(3, 4), f32(1, 2), new Float32Array(2)], ([x, w, y]) => {
      b.rmsnorm(y, x, plain(w), 1, 2, 0);
      return mismatch("rmsnorm", b.download(y, new Float32Array(2)), [3 / Math.sqrt(12.5), 8 / Math.sqrt(12.5)]);
    }),
  rope: (b) =>
    withBuffers(b, [f32(1, 0), i32(1), f32(1, 0), f32(0, 1), f32(4), i32(8)], ([x, pos, cos, sin, q, qpos]) => {
      b.rope(x, pos, cos, sin, 1, 1, 2, 2);
      const c = mismatch("rope", b.download(x, new Float32Array(2)), [0, 1]);
      if (c) return c;
      b.queryScale(q, qpos, 1, 1, 0.5, 4);
      return mismatch("query_scale", b.download(q, new Float32Array(1)), [4 * (1 + 0.5 * Math.log(3))]);
    }),
  attention: (b) => {
    // the same result from each KV storage: these K/V values are exact in bf16, and in FP8 at scale 0.5
    const formats: KvFormat[] = [
      { dtype: DType.F32, kScale: 1, vScale: 1 },
      { dtype: DType.BF16, kScale: 1, vScale: 1 },
      { dtype: DType.F8_E4M3, kScale: 0.5, vScale: 0.5 },
    ];
    for (const kvFormat of formats) {
      const failure = withBuffers(b, [
        new Float32Array(8),
        new Float32Array(8),
        f32(1, 0, 0, 1),
        f32(1, 2, 3, 4),
        i32(2, 3),
        f32(1, 0),
        i32(0, 1),
        i32(2),
        i32(1),
        new Float32Array(2),
      ], ([kc, vc, k, v, slots, q, starts, lens, tables, out]) => {
        b.kvWrite(kc, vc, k, v, slots, 2, 1, 2, 2, 2, kvFormat);
        b.attention({
          out,
          q,
          kCache: kc,
          vCache: vc,
          queryStarts: starts,
          contextLens: lens,
          blockTables: tables,
          numSeqs: 1,
          numTokens: 1,
          numHeads: 1,
          numKvHeads: 1,
          headDim: 2,
          blockSize: 2,
          maxBlocksPerSeq: 1,
          numBlocks: 2,
          scale: 1,
          kvFormat,
        });
        const w0 = Math.E / (Math.E + 1);
        return mismatch(`kv_write/attention (kv dtype ${kvFormat.dtype})`, b.download(out, new Float32Array(2)), [
          w0 + 3 * (1 - w0),
          2 * w0 + 4 * (1 - w0),
        ]);
      });
      if (failure) return failure;
    }
    return null;
  },
  elementwise: (b) =>
    withBuffers(b, [
      f32(0, 1),
      f32(5, 2),
      new Float32Array(2),
      f32(1, 3, 2, 5, 5, 0),
      new Int32Array(2),
      i32(1),
      new Float32Array(3),
    ], ([g, u, out, x, idx, rows, picked]) => {
      b.siluMul(out, g, u, 2);
      let c = mismatch("silu_mul", b.download(out, new Float32Array(2)), [0, 2 / (1 + Math.exp(-1))]);
      if (c) return c;
      b.add(out, g, u, 2);
      c = mismatch("add", b.download(out, new Float32Array(2)), [5, 3]);
      if (c) return c;
      b.argmax(idx, x, 2, 3);
      c = mismatch("argmax", b.download(idx, new Int32Array(2)), [1, 0]);
      if (c) return c;
      b.gatherRows(picked, x, rows, 1, 3, 2);
      return mismatch("gather_rows", b.download(picked, new Float32Array(3)), [5, 5, 0]);
    }),
  vision: (b) =>
    withBuffers(b, [
      f32(0, 1, -1, 2),
      new Float32Array(4),
      f32(1, 2, 3, 4),
      i32(2, 0),
      new Float32Array(6),
      f32(1, 0, 0, 0, 9, 9),
      f32(1, 0, 0, 1, 1, 0),
      f32(1, 2, 3, 4, 5, 6),
      i32(0, 2, 3),
      new Float32Array(6),
    ], ([x, y, rowsX, rows, scattered, q, k, v, starts, out]) => {
      b.gelu(y, x, 4);
      let c = mismatch("gelu", b.download(y, new Float32Array(4)), [
        0,
        0.8413447460685429,
        -0.15865525393145707,
        1.9544997361036416,
      ]);
      if (c) return c;
      b.scatterRows(scattered, rowsX, rows, 2, 2, 3);
      c = mismatch("scatter_rows", b.download(scattered, new Float32Array(6)), [3, 4, 0, 0, 1, 2]);
      if (c) return c;
      // segments [0, 2) and [2, 3): row 0 scores k0, k1 as 1, 0; row 1 (q = 0) weighs both equally;
      // row 2 is alone in its segment, so it returns v2 however strongly its q matches k0
      b.segmentAttention({
        out,
        q,
        k,
        v,
        segmentStarts: starts,
        numSegments: 2,
        numTokens: 3,
        numHeads: 1,
        numKvHeads: 1,
        headDim: 2,
        scale: 1,
      });
      const w0 = Math.E / (Math.E + 1);
      return mismatch("segment_attention", b.download(out, new Float32Array(6)), [
        w0 + 3 * (1 - w0),
        2 * w0 + 4 * (1 - w0),
        2,
        3,
        5,
        6,
      ]);
    }),
};

/** Runs every check; returns one line per failure (empty when the library is sound). */
export function runSelfTest(backend: Backend): string[] {
  const failures: string[] = [];
  for (const [name, check] of Object.entries(checks)) {
    try {
      const failure = check(backend);
      if (failure) failures.push(failure);
    } catch (err) {
      failures.push(`${name}: ${(err as Error).message}`);
    }
  }
  return failures;
}
