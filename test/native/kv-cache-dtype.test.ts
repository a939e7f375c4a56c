// The KV cache's storage formats (kernels/gust.h "KV cache storage") against TypeScript twins: the stored bytes
// of bf16 and FP8 caches, and attention over them equal to attention over an f32 cache of the decoded values.
import { describe, expect, it } from "vitest";
import { type Backend, createBackend, DType, type KvFormat } from "../../ffi/backend.ts";
import { Rng } from "../../runtime/sampling/rng.ts";
import { randomF32 } from "../helpers/random.ts";
import { bf16ToF32, e4m3Encode, e4m3Value } from "../helpers/reference-ops.ts";

const backend: Backend = createBackend("cpu");

/** bf16 by search: the nearer of the two neighbouring bf16 values, ties to the even code. */
function bf16Nearest(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const bits = new Uint32Array(new Float32Array([x]).buffer)[0];
  const down = bits >>> 16, up = down + 1;
  const dDown = Math.abs(bf16ToF32(down) - x), dUp = Math.abs(bf16ToF32(up & 0xffff) - x);
  return dDown < dUp || (dDown === dUp && (down & 1) === 0) ? down : up;
}

const NUM_BLOCKS = 6, BLOCK = 4, KV = 2, D = 8, ROW = KV * D;

function writeCache(format: KvFormat, k: Float32Array, v: Float32Array, slots: Int32Array, bytesPer: number) {
  const kc = backend.alloc(NUM_BLOCKS * BLOCK * ROW * bytesPer),
    vc = backend.alloc(NUM_BLOCKS * BLOCK * ROW * bytesPer);
  using kb = backend.fromHost(k);
  using vb = backend.fromHost(v);
  using sb = backend.fromHost(slots);
  backend.kvWrite(kc, vc, kb, vb, sb, slots.length, KV, D, NUM_BLOCKS, BLOCK, format);
  return { kc, vc };
}

describe("KV cache storage formats", () => {
  const rng = new Rng(5);
  const T = 10;
  const k = randomF32(rng, T * ROW, 3), v = randomF32(rng, T * ROW, 3);
  // ties and specials: 1 + 2^-8 ties to 0x3F80 (even), 1 + 3·2^-8 ties up to 0x3F82; NaN stays NaN
  k.set([1.00390625, 1.01171875, -1.00390625, NaN, 0, -0, 3e38, 1e-40]);
  const slots = Int32Array.from({ length: T }, (_, t) => (t * 7) % (NUM_BLOCKS * BLOCK));
  slots[3] = -1; // skipped: its slot stays zero

  it("bf16 stores each value rounded to the nearest bf16, ties to even", () => {
    const { kc, vc } = writeCache({ dtype: DType.BF16, kScale: 1, vScale: 1 }, k, v, slots, 2);
    const got = backend.download(kc, new Uint16Array(NUM_BLOCKS * BLOCK * ROW));
    for (let t = 0; t < T; t++) {
      for (let i = 0; i < ROW; i++) {
        const stored = got[Math.max(slots[t], 0) * ROW + i], x = k[t * ROW + i];
        if (slots[t] < 0) continue;
        if (Number.isNaN(x)) expect(Number.isNaN(bf16ToF32(stored))).toBe(true);
        else expect(stored, `k[${t}, ${i}] = ${x}`).toBe(bf16Nearest(x));
      }
    }
    expect(got[0 * ROW + 1]).toBe(0x3f82 & 0xffff); // slot 0 = token 0: element 1 is 1 + 3·2^-8
    expect(got[0 * ROW]).toBe(0x3f80);
    kc.dispose();
    vc.dispose();
  });

  it("FP8 stores e4m3(x / scale) with each tensor's own scale", () => {
    const format = { dtype: DType.F8_E4M3, kScale: 0.02, vScale: 0.5 };
    const { kc, vc } = writeCache(format, k, v, slots, 1);
    const gotK = backend.download(kc, new Uint8Array(NUM_BLOCKS * BLOCK * ROW));
    const gotV = backend.download(vc, new Uint8Array(NUM_BLOCKS * BLOCK * ROW));
    for (let t = 0; t < T; t++) {
      if (slots[t] < 0) continue;
      for (let i = 0; i < ROW; i++) {
        const at = slots[t] * ROW + i;
        expect(gotK[at]).toBe(e4m3Encode(Math.fround(k[t * ROW + i] / Math.fround(format.kScale))));
        expect(gotV[at]).toBe(e4m3Encode(Math.fround(v[t * ROW + i] / Math.fround(format.vScale))));
      }
    }
    kc.dispose();
    vc.dispose();
  });

  it.each([["bf16", DType.BF16, 2], ["fp8", DType.F8_E4M3, 1]] as const)(
    "attention over a %s cache equals attention over an f32 cache of the decoded values",
    (_name, dtype, bytesPer) => {
      const format: KvFormat = { dtype, kScale: 0.03, vScale: 0.04 };
      const kk = randomF32(rng, T * ROW, 2), vv = randomF32(rng, T * ROW, 2);
      const allSlots = Int32Array.from({ length: T }, (_, t) => t + 3); // 10 keys in blocks 0..3, from slot 3
      const { kc, vc } = writeCache(format, kk, vv, allSlots, bytesPer);
      const n = NUM_BLOCKS * BLOCK * ROW;
      const decode = (buf: typeof kc, scale: number) =>
        dtype === DType.BF16
          ? Float32Array.from(backend.download(buf, new Uint16Array(n)), bf16ToF32)
          : Float32Array.from(backend.download(buf, new Uint8Array(n)), (c) => Math.fround(e4m3Value(c) * scale));
      using kf = backend.fromHost(decode(kc, Math.fround(format.kScale)));
      using vf = backend.fromHost(decode(vc, Math.fround(format.vScale)));
      // two sequences over the same cache: a 3-row chunk ending at position 12, and one decode row at 9
      const H = 4, q = randomF32(rng, 4 * H * D);
      using qb = backend.fromHost(q);
      using starts = backend.fromHost(Int32Array.of(0, 3, 4));
      using lens = backend.fromHost(Int32Array.of(13, 10));
      using tables = backend.fromHost(Int32Array.of(0, 1, 2, 3, 0, 1, 2, -1));
      const run = (kCache: typeof kc, vCache: typeof kc, kvFormat?: KvFormat) => {
        using out = backend.alloc(4 * H * D * 4);
        backend.attention({
          out,
          q: qb,
          kCache,
          vCache,
          queryStarts: starts,
          contextLens: lens,
          blockTables: tables,
          numSeqs: 2,
          numTokens: 4,
          numHeads: H,
          numKvHeads: KV,
          headDim: D,
          blockSize: BLOCK,
          maxBlocksPerSeq: 4,
          numBlocks: NUM_BLOCKS,
          scale: 0.35,
          kvFormat,
        });
        return backend.download(out, new Float32Array(4 * H * D));
      };
      expect(run(kc, vc, format)).toEqual(run(kf, vf));
      kc.dispose();
      vc.dispose();
    },
  );

  it("refuses a storage dtype it does not have and FP8 without positive scales", () => {
    using x = backend.alloc(64);
    using slots = backend.fromHost(Int32Array.of(0));
    expect(() => backend.kvWrite(x, x, x, x, slots, 1, 1, 1, 2, 2, { dtype: DType.F16, kScale: 1, vScale: 1 }))
      .toThrow(/kv_dtype 1 is not f32 \(0\), bf16 \(2\) or f8_e4m3 \(3\)/);
    expect(() => backend.kvWrite(x, x, x, x, slots, 1, 1, 1, 2, 2, { dtype: DType.F8_E4M3, kScale: 0, vScale: 1 }))
      .toThrow(/FP8 KV scales must be positive finite numbers/);
  });
});
