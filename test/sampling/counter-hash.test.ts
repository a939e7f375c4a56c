// The counter hash is a cross-backend contract: fixed vectors pin it, published Murmur3 vectors pin the
// primitive it is built from.
import { describe, expect, it } from "vitest";
import {
  counterHash,
  counterHashAt,
  counterHashPrefix,
  deriveSeed,
  murmur3Words,
  randomSeed,
  splitSeed,
  uniformFromHash,
} from "../../runtime/sampling/counter-hash.ts";

const textWords = (s: string) => {
  const b = new TextEncoder().encode(s);
  const v = new DataView(b.buffer);
  return Array.from({ length: b.length / 4 }, (_, i) => v.getUint32(4 * i, true));
};

describe("murmur3Words", () => {
  it("matches published MurmurHash3_x86_32 vectors (whole-word keys)", () => {
    expect(murmur3Words([], 0)).toBe(0);
    expect(murmur3Words([], 1)).toBe(0x514e28b7);
    expect(murmur3Words([], 0xffffffff)).toBe(0x81f16f39);
    expect(murmur3Words([0xffffffff], 0)).toBe(0x76293b50);
    expect(murmur3Words([0x87654321], 0)).toBe(0xf55b516b);
    expect(murmur3Words([0x87654321], 0x5082edee)).toBe(0x2362f9de);
    expect(murmur3Words([0], 0)).toBe(0x2362f9de);
    expect(murmur3Words(textWords("aaaa"), 0x9747b28c)).toBe(0x5a97808a);
  });
});

describe("counterHash", () => {
  it("matches fixed vectors (computed by an independent byte-wise Murmur3 in Python)", () => {
    expect(counterHash(0, 0, 0, 0)).toBe(0x8134cdf8);
    expect(counterHash(42, 0, 0, 0)).toBe(0x6f610fe4);
    expect(counterHash(42, 0, 0, 1)).toBe(0x6ac7e06f);
    expect(counterHash(42, 0, 7, 131071)).toBe(0x4abc1578);
    expect(counterHash(0xdeadbeef, 0x12345, 3, 5)).toBe(0xcee2c73a);
    expect(counterHash(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff)).toBe(0xe519346e);
  });

  it("reproduces the worked example in its comment", () => {
    expect(counterHash(42, 0, 0, 1)).toBe(0x6ac7e06f);
    const u = uniformFromHash(0x6ac7e06f);
    expect(u).toBe(0.41711237642448395);
    expect(-Math.log(u)).toBeCloseTo(0.8743996056601594, 15);
  });

  it("is Murmur3 over [seed_lo, seed_hi, step, index], and prefix + at is the same function", () => {
    for (const [a, b, c, d] of [[1, 2, 3, 4], [0xffffffff, 0, 99, 131071], [7, 7, 7, 7]]) {
      expect(counterHash(a, b, c, d)).toBe(murmur3Words([a, b, c, d]));
      expect(counterHashAt(counterHashPrefix(a, b, c), d)).toBe(counterHash(a, b, c, d));
    }
  });

  it("gives uniform bytes over consecutive indices (χ² per output byte, 256 bins)", () => {
    const prefix = counterHashPrefix(5, 0, 11);
    const n = 256 * 200;
    for (const shift of [0, 8, 16, 24]) {
      const bins = new Array(256).fill(0);
      for (let i = 0; i < n; i++) bins[(counterHashAt(prefix, i) >>> shift) & 0xff]++;
      const e = n / 256;
      const chi = bins.reduce((a, c) => a + (c - e) ** 2 / e, 0);
      // df = 255: 0.999 quantile 330.52 (scipy); a stuck or biased byte lands far above.
      expect(chi).toBeLessThan(330.5);
    }
  });

  it("maps hashes strictly inside (0, 1)", () => {
    expect(uniformFromHash(0)).toBeGreaterThan(0);
    expect(uniformFromHash(0xffffffff)).toBeLessThan(1);
    expect(Number.isFinite(-Math.log(uniformFromHash(0)))).toBe(true);
    expect(-Math.log(uniformFromHash(0xffffffff))).toBeGreaterThan(0);
  });
});

describe("seeds", () => {
  it("splits seeds as 64-bit two's complement", () => {
    expect(splitSeed(0)).toEqual([0, 0]);
    expect(splitSeed(42)).toEqual([42, 0]);
    expect(splitSeed(2 ** 32 + 5)).toEqual([5, 1]);
    expect(splitSeed(-1)).toEqual([0xffffffff, 0xffffffff]);
    expect(splitSeed(-(2 ** 32))).toEqual([0, 0xffffffff]);
    expect(splitSeed(Number.MAX_SAFE_INTEGER)).toEqual([0xffffffff, 0x1fffff]);
    expect(() => splitSeed(1.5)).toThrow(/seed/);
  });

  it("derives distinct, reusable child seeds", () => {
    const kids = Array.from({ length: 64 }, (_, i) => deriveSeed(1234, i));
    expect(new Set(kids).size).toBe(64);
    for (const k of kids) expect(Number.isSafeInteger(k) && k >= 0).toBe(true);
    expect(deriveSeed(1234, 3)).toBe(kids[3]);
    expect(deriveSeed(1235, 3)).not.toBe(kids[3]);
  });

  it("draws random safe-integer seeds", () => {
    const a = randomSeed(), b = randomSeed();
    expect(Number.isSafeInteger(a) && a >= 0).toBe(true);
    expect(a).not.toBe(b);
  });
});
