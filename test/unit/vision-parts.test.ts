// The vision path's index arithmetic on the worked examples of its comments: patch rows, the 2-D
// rotary table, the patch merger's gather order and weight permutation, the image-row cursor.
import { describe, expect, it } from "vitest";
import { imageEmbeddingsForSpan, ImageFeatureCursor } from "../../runtime/model/image-prefill.ts";
import { imageBlockKeys, imageDigest } from "../../runtime/wire/image-keys.ts";
import { mergerSourceRows, permuteMergingColumns } from "../../runtime/vision/merge-order.ts";
import { pixelValues, type RgbImage, writePatches } from "../../runtime/vision/pixels.ts";
import { patchPositions, visionRopeTables } from "../../runtime/vision/rope-2d.ts";
import { Rng } from "../../runtime/sampling/rng.ts";

function randomImage(height: number, width: number, seed: number): RgbImage {
  const rng = new Rng(seed);
  return { rgb: Uint8Array.from({ length: height * width * 3 }, () => rng.nextU32() & 0xff), height, width };
}

describe("patch rows", () => {
  it("flatten each patch as [C, ky, kx] (the Conv2d weight order), patches in raster order", () => {
    const img = randomImage(28, 42, 1), p = 14, px = pixelValues(img);
    const out = new Float32Array((1 + 6) * 3 * p * p).fill(NaN);
    writePatches(img, p, out, 1);
    expect(out.subarray(0, 3 * p * p).every(Number.isNaN)).toBe(true); // rows before firstRow untouched
    // the worked example: row firstRow + 4 is patch (1, 1); element 1·196 + 2·14 + 5 = green at (16, 19)
    expect(out[(1 + 4) * 588 + 196 + 28 + 5]).toBe(px[(1 * 28 + 16) * 42 + 19]);
    for (let r = 0; r < 2; r++) {
      for (let q = 0; q < 3; q++) {
        for (let c = 0; c < 3; c++) {
          for (let ky = 0; ky < p; ky++) {
            for (let kx = 0; kx < p; kx++) {
              expect(out[(1 + r * 3 + q) * 588 + c * 196 + ky * 14 + kx]).toBe(
                px[(c * 28 + r * 14 + ky) * 42 + q * 14 + kx],
              );
            }
          }
        }
      }
    }
  });

  it("normalise with CLIP mean/std after /255", () => {
    const px = pixelValues({ rgb: Uint8Array.of(0, 255, 128), height: 1, width: 1 });
    expect(px[0]).toBeCloseTo((0 - 0.48145466) / 0.26862954, 6);
    expect(px[1]).toBeCloseTo((1 - 0.4578275) / 0.26130258, 6);
    expect(px[2]).toBeCloseTo((128 / 255 - 0.40821073) / 0.27577711, 6);
  });
});

describe("2-D rotary table", () => {
  it("patch (2, 5) of an 8-wide table reads row 21: row angles from even freqs, column angles from odd", () => {
    const D = 12, t = visionRopeTables(D, 10000, 8), half = D / 2;
    const freqs = Array.from({ length: half }, (_, j) => 1 / Math.pow(10000, (2 * j) / D));
    const pos = new Int32Array(18);
    patchPositions(2, 8, 8, pos, 0);
    expect(pos[13]).toBe(13); // (1, 5)
    patchPositions(3, 6, 8, pos, 0);
    expect(pos[2 * 6 + 5]).toBe(21); // (2, 5)
    const angles = [2 * freqs[0], 2 * freqs[2], 2 * freqs[4], 5 * freqs[1], 5 * freqs[3], 5 * freqs[5]];
    angles.forEach((a, i) => {
      expect(t.cos[21 * half + i]).toBeCloseTo(Math.cos(a), 6);
      expect(t.sin[21 * half + i]).toBeCloseTo(Math.sin(a), 6);
    });
    expect(t.length).toBe(64);
  });
});

describe("patch merger", () => {
  it("gathers each 2×2 block's patches row-major, blocks in raster order", () => {
    const rows = mergerSourceRows(4, 6, 2, 0);
    expect(Array.from(rows.subarray(4, 8))).toEqual([2, 3, 8, 9]); // token (0, 1)
    expect(Array.from(rows.subarray(12, 16))).toEqual([12, 13, 18, 19]); // token (1, 0)
    expect(Array.from(mergerSourceRows(2, 2, 2, 10))).toEqual([10, 11, 12, 13]);
    expect([...rows].sort((a, b) => a - b)).toEqual(Array.from({ length: 24 }, (_, i) => i)); // a permutation
    expect(() => mergerSourceRows(3, 4, 2, 0)).toThrow(/3×4 patch grid does not split into 2×2 blocks/);
  });

  it("permutes merging_layer columns so the patch-major gather reproduces the channel-major unfold", () => {
    // the comment's example: d = 2, s = 2, one output row [c0k0 c0k1 c0k2 c0k3 c1k0 c1k1 c1k2 c1k3]
    const w = Uint8Array.of(0, 1, 2, 3, 10, 11, 12, 13);
    expect(Array.from(permuteMergingColumns(w, 1, 2, 2, 1))).toEqual([0, 10, 1, 11, 2, 12, 3, 13]);
    // and numerically: W'·(patch-major gather) = W·(channel-major unfold) on a random 4×4 grid, d = 3
    const rng = new Rng(5), d = 3, s = 2, out = 2, grid = 4;
    const feats = Array.from({ length: grid * grid * d }, () => rng.nextFloat());
    const W = Float32Array.from({ length: out * d * 4 }, () => rng.nextFloat());
    const Wp = new Float32Array(permuteMergingColumns(new Uint8Array(W.buffer), out, d, s, 4).buffer);
    const src = mergerSourceRows(grid, grid, s, 0);
    for (let m = 0; m < 4; m++) {
      const R = Math.floor(m / 2), C = m % 2;
      for (let o = 0; o < out; o++) {
        let unfold = 0, gathered = 0;
        for (let ch = 0; ch < d; ch++) {
          for (let dy = 0; dy < s; dy++) {
            for (let dx = 0; dx < s; dx++) {
              unfold += W[o * d * 4 + ch * 4 + dy * 2 + dx] * feats[((2 * R + dy) * grid + 2 * C + dx) * d + ch];
            }
          }
        }
        for (let j = 0; j < 4 * d; j++) {
          gathered += Wp[o * d * 4 + j] * feats[src[m * 4 + Math.floor(j / d)] * d + (j % d)];
        }
        expect(gathered).toBeCloseTo(unfold, 10);
      }
    }
  });
});

describe("image feature cursor", () => {
  const hidden = 2, values = Float32Array.from({ length: 8 }, (_, i) => i);

  it("hands [IMG] rows to chunks in order, across a chunk boundary inside the run (the comment's example)", () => {
    const prompt = [1, 10, 10, 12, 10, 10, 13, 5];
    const cursor = new ImageFeatureCursor({ values, hidden, imageTokenId: 10 });
    const a = cursor.take(prompt.slice(0, 3))!, b = cursor.take(prompt.slice(3, 6))!;
    expect(Array.from(a.rows)).toEqual([1, 2]);
    expect(Array.from(a.values)).toEqual([0, 1, 2, 3]);
    expect(Array.from(b.rows)).toEqual([1, 2]);
    expect(Array.from(b.values)).toEqual([4, 5, 6, 7]);
    expect(cursor.take(prompt.slice(6))).toBeUndefined();
    expect(cursor.consumed).toBe(4);
    expect(() => cursor.take([10])).toThrow(/the images gave only 4/);
  });

  it("checks the prompt's [IMG] count against the feature rows, with both numbers", () => {
    expect(() => ImageFeatureCursor.check([10, 10, 10], { values, hidden, imageTokenId: 10 }))
      .toThrow(/3 \[IMG\] tokens \(id 10\) but the images give 4 feature rows/);
    expect(() => new ImageFeatureCursor({ values: new Float32Array(3), hidden: 2, imageTokenId: 10 })).toThrow(
      /not a whole number of 2-wide rows/,
    );
  });
});

describe("image features for spans and prefix-cache keys", () => {
  it("imageEmbeddingsForSpan finds the rows by counting earlier [IMG] tokens (the comment's example)", () => {
    const f = { values: Float32Array.from({ length: 8 }, (_, i) => i), hidden: 2, imageTokenId: 10 };
    const tokens = [1, 10, 10, 12, 10, 10, 13];
    const e = imageEmbeddingsForSpan(tokens, 2, 5, f)!;
    expect(Array.from(e.rows)).toEqual([0, 2]);
    expect(Array.from(e.values)).toEqual([2, 3, 4, 5]);
    expect(imageEmbeddingsForSpan(tokens, 6, 7, f)).toBeUndefined();
    // every split of the prompt gives the same rows as the stateful cursor
    for (let cut = 1; cut < tokens.length; cut++) {
      const cursor = new ImageFeatureCursor(f);
      const a = cursor.take(tokens.slice(0, cut)), b = cursor.take(tokens.slice(cut));
      expect(imageEmbeddingsForSpan(tokens, 0, cut, f)).toEqual(a);
      expect(imageEmbeddingsForSpan(tokens, cut, tokens.length, f)).toEqual(b);
    }
  });

  it("blocks holding an image's tokens are keyed by its content, other blocks are not", () => {
    const v = { img: 10, imgBreak: 12, imgEnd: 13 };
    const img = (byte: number): RgbImage => ({ rgb: new Uint8Array(12).fill(byte), height: 2, width: 2 });
    const ids = [1, 10, 10, 12, 10, 10, 13, 5, 6];
    const keys = imageBlockKeys(ids, [imageDigest(img(1))], v, 4);
    const other = imageBlockKeys(ids, [imageDigest(img(2))], v, 4);
    expect(keys(0)).toBe(imageDigest(img(1)));
    expect(keys(1)).toBe(imageDigest(img(1)));
    expect(keys(2)).toBe("");
    expect(other(0)).not.toBe(keys(0));
    expect(imageDigest({ ...img(1), height: 1, width: 4 })).not.toBe(imageDigest(img(1))); // size is part of the key
    expect(() => imageBlockKeys(ids, [], v, 4)).toThrow(/holds 1 image runs but 0 images/);
  });
});
