// The vision path's kernels (exact GELU, row scatter, segment attention) against plain TypeScript loops
// on random shapes, odd sizes included, plus their argument checks.
import { describe, expect, it } from "vitest";
import { type Backend, createBackend } from "../../ffi/backend.ts";
import { Rng } from "../../runtime/sampling/rng.ts";
import { closeness, describe as explain } from "../helpers/compare.ts";
import { randomF32, randomInt } from "../helpers/random.ts";
import { erf, geluRef, segmentAttentionRef } from "../helpers/vision-reference.ts";

const backend: Backend = createBackend("cpu");

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, abs: number, rel: number, what: string) {
  const c = closeness(got, want, abs, rel);
  expect(c.ok, `${what}: ${explain(c)}`).toBe(true);
}

describe("vision kernels", () => {
  const rng = new Rng(71);

  it("the reference erf is right (known values), so the GELU check means something", () => {
    expect(erf(0)).toBe(0);
    expect(erf(0.5)).toBeCloseTo(0.5204998778130465, 15);
    expect(erf(1)).toBeCloseTo(0.8427007929497149, 15);
    expect(erf(-2)).toBeCloseTo(-0.9953222650189527, 15);
    expect(erf(3.5)).toBeCloseTo(0.9999992569016276, 14);
  });

  it("gelu is the erf form, in place and out of place, on odd lengths", () => {
    for (const n of [1, 7, 33, 1001]) {
      const x = randomF32(rng, n, 6);
      const want = Array.from(x, geluRef);
      using xb = backend.fromHost(x);
      using yb = backend.alloc(n * 4);
      backend.gelu(yb, xb, n);
      expectClose(backend.download(yb, new Float32Array(n)), want, 1e-7, 2e-6, `gelu n=${n}`);
      backend.gelu(xb, xb, n);
      expectClose(backend.download(xb, new Float32Array(n)), want, 1e-7, 2e-6, `gelu in place n=${n}`);
    }
    // the tanh approximation differs from the erf form by ~1e-4 at x = −2: make sure we are not it
    using one = backend.fromHost(Float32Array.of(-2));
    backend.gelu(one, one, 1);
    const tanhForm = 0.5 * -2 * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (-2 + 0.044715 * -8)));
    const got = backend.download(one, new Float32Array(1))[0];
    expect(Math.abs(got - geluRef(-2))).toBeLessThan(1e-7);
    expect(Math.abs(got - tanhForm)).toBeGreaterThan(5e-5);
  });

  it("scatter_rows writes each source row to its destination and leaves the others alone", () => {
    for (const [dst, len] of [[5, 3], [17, 64], [9, 1]]) {
      const rowsList = Array.from({ length: dst }, (_, i) => i).filter(() => rng.nextFloat() < 0.5);
      rowsList.reverse(); // any order
      const n = rowsList.length, base = randomF32(rng, dst * len), x = randomF32(rng, n * len);
      const want = Float32Array.from(base);
      rowsList.forEach((r, i) => want.set(x.subarray(i * len, (i + 1) * len), r * len));
      using ob = backend.fromHost(base);
      using xb = backend.fromHost(x.length > 0 ? x : new Float32Array(1));
      using rb = backend.fromHost(rowsList.length > 0 ? Int32Array.from(rowsList) : new Int32Array(1));
      backend.scatterRows(ob, xb, rb, n, len, dst);
      expectClose(backend.download(ob, new Float32Array(dst * len)), want, 0, 0, `scatter ${dst}x${len}`);
    }
  });

  it.each([
    ["one segment", [13], 3, 3, 12],
    ["three images, odd sizes", [6, 1, 9], 4, 4, 7],
    ["GQA and an empty segment", [5, 0, 11], 6, 2, 5],
    ["many small segments", [2, 3, 1, 4, 2, 2], 2, 1, 16],
  ] as [string, number[], number, number, number][])("segment attention: %s", (_name, lens, H, KV, D) => {
    const starts = Int32Array.from([0, ...lens.map((_, i) => lens.slice(0, i + 1).reduce((a, b) => a + b, 0))]);
    const T = starts[starts.length - 1], scale = 1 / Math.sqrt(D);
    const q = randomF32(rng, T * H * D, 2), k = randomF32(rng, T * KV * D, 2), v = randomF32(rng, T * KV * D);
    using qb = backend.fromHost(q);
    using kb = backend.fromHost(k);
    using vb = backend.fromHost(v);
    using sb = backend.fromHost(starts);
    using ob = backend.alloc(T * H * D * 4);
    backend.segmentAttention({
      out: ob,
      q: qb,
      k: kb,
      v: vb,
      segmentStarts: sb,
      numSegments: lens.length,
      numTokens: T,
      numHeads: H,
      numKvHeads: KV,
      headDim: D,
      scale,
    });
    const want = segmentAttentionRef(q, k, v, starts, H, KV, D, scale);
    expectClose(backend.download(ob, new Float32Array(T * H * D)), want, 2e-6, 1e-5, "segment attention");
  });

  it("segment attention is block-diagonal: changing one segment leaves the other's rows bit-identical", () => {
    const H = 2, D = 6, T = 10, starts = Int32Array.of(0, 4, 10);
    const q = randomF32(rng, T * H * D), k = randomF32(rng, T * H * D), v = randomF32(rng, T * H * D);
    const run = (kk: Float32Array, vv: Float32Array) => {
      using qb = backend.fromHost(q);
      using kb = backend.fromHost(kk);
      using vb = backend.fromHost(vv);
      using sb = backend.fromHost(starts);
      using ob = backend.alloc(T * H * D * 4);
      backend.segmentAttention({
        out: ob,
        q: qb,
        k: kb,
        v: vb,
        segmentStarts: sb,
        numSegments: 2,
        numTokens: T,
        numHeads: H,
        numKvHeads: H,
        headDim: D,
        scale: 0.5,
      });
      return backend.download(ob, new Float32Array(T * H * D));
    };
    const a = run(k, v);
    const k2 = Float32Array.from(k), v2 = Float32Array.from(v);
    for (let i = 4 * H * D; i < T * H * D; i++) {
      k2[i] += 1;
      v2[i] -= 3;
    }
    const b = run(k2, v2);
    expect(Array.from(b.subarray(0, 4 * H * D))).toEqual(Array.from(a.subarray(0, 4 * H * D)));
    expect(Array.from(b.subarray(4 * H * D))).not.toEqual(Array.from(a.subarray(4 * H * D)));
  });

  it("argument checks name the problem", () => {
    using x = backend.alloc(64 * 4);
    using bad = backend.fromHost(Int32Array.of(0, 5, 3));
    const args = {
      out: x,
      q: x,
      k: x,
      v: x,
      segmentStarts: bad,
      numSegments: 2,
      numTokens: 3,
      numHeads: 1,
      numKvHeads: 1,
      headDim: 2,
      scale: 1,
    };
    expect(() => backend.segmentAttention(args)).toThrow(/segment_starts decreases at segment 1/);
    using short = backend.fromHost(Int32Array.of(0, 2));
    expect(() => backend.segmentAttention({ ...args, segmentStarts: short, numSegments: 1 })).toThrow(
      /from 0 to num_tokens 3, got 0..2/,
    );
    expect(() =>
      backend.segmentAttention({
        ...args,
        segmentStarts: short,
        numSegments: 1,
        numTokens: 2,
        numHeads: 3,
        numKvHeads: 2,
      })
    )
      .toThrow(/3 query heads are not a multiple of 2 KV heads/);
    using rows = backend.fromHost(Int32Array.of(1, randomInt(rng, 4, 9)));
    expect(() => backend.scatterRows(x, x, rows, 2, 4, 4)).toThrow(
      /destination row \d+ \(source row 1\) is outside \[0, 4\)/,
    );
  });
});
