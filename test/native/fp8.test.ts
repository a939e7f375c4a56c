// FP8 E4M3 rounding, checked exhaustively: every code round-trips, every midpoint between neighbouring
// codes rounds to the even one, values just off a midpoint round to the nearer code, and values past
// ±448 saturate (transformers clamps before casting).
import { describe, expect, it } from "vitest";
import { createBackend } from "../../ffi/backend.ts";
import { Rng } from "../../runtime/sampling/rng.ts";
import { e4m3Encode, e4m3Value } from "../helpers/reference-ops.ts";

const backend = createBackend("cpu");

function quantize(values: number[], scale = 1): number[] {
  using x = backend.fromHost(Float32Array.from(values));
  using codes = backend.alloc(values.length);
  backend.fp8Quantize(codes, x, values.length, scale);
  return Array.from(backend.download(codes, new Uint8Array(values.length)));
}

const finiteCodes = Array.from({ length: 256 }, (_, c) => c).filter((c) => (c & 0x7f) !== 0x7f);

describe("FP8 E4M3", () => {
  it("dequantizes all 256 codes to their values (NaN codes to NaN)", () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    using codes = backend.fromHost(all);
    using y = backend.alloc(256 * 4);
    backend.fp8Dequantize(y, codes, 256, 1);
    const got = backend.download(y, new Float32Array(256));
    for (let c = 0; c < 256; c++) {
      if ((c & 0x7f) === 0x7f) expect(Number.isNaN(got[c]), `code ${c}`).toBe(true);
      else expect(got[c], `code 0x${c.toString(16)}`).toBe(e4m3Value(c));
    }
    expect(e4m3Value(0x7e)).toBe(448);
    expect(e4m3Value(0x01)).toBe(2 ** -9);
  });

  it("round-trips every finite code exactly", () => {
    expect(quantize(finiteCodes.map(e4m3Value))).toEqual(finiteCodes);
  });

  it("rounds every midpoint to the even neighbour and nudged midpoints to the nearer one", () => {
    const positive = finiteCodes.filter((c) => c < 0x7e);
    const values: number[] = [], want: number[] = [];
    for (const c of positive) {
      const lo = e4m3Value(c), hi = e4m3Value(c + 1), mid = (lo + hi) / 2;
      const below = Math.fround(mid - (hi - lo) / 64), above = Math.fround(mid + (hi - lo) / 64);
      for (const [v, w] of [[mid, c % 2 === 0 ? c : c + 1], [below, c], [above, c + 1]] as const) {
        values.push(v, -v);
        want.push(w, w | 0x80);
      }
    }
    expect(quantize(values)).toEqual(want);
    expect(values.map(e4m3Encode)).toEqual(want); // the TS twin agrees
  });

  it("saturates beyond ±448 and keeps NaN", () => {
    const got = quantize([449, 464, 480, 1e9, -1e9, Infinity, -Infinity, NaN]);
    expect(got.slice(0, 7)).toEqual([0x7e, 0x7e, 0x7e, 0x7e, 0xfe, 0x7e, 0xfe]);
    expect(got[7] & 0x7f).toBe(0x7f);
  });

  it("divides by the scale (not a multiply by its reciprocal) and agrees with the TS twin on random values", () => {
    const rng = new Rng(5);
    const values = Array.from({ length: 4000 }, () => (rng.nextFloat() * 2 - 1) * 10 ** (rng.nextFloat() * 6 - 4));
    const scale = 0.0123;
    expect(quantize(values, scale)).toEqual(
      values.map((v) => e4m3Encode(Math.fround(Math.fround(v) / Math.fround(scale)))),
    );
  });

  it("rejects a non-positive scale", () => {
    expect(() => quantize([1], 0)).toThrow(/scale must be a positive finite number/);
  });
});
