// Tensor-parallel shard arithmetic (runtime/parallel/layout.ts) on Mistral Medium 3.5's heads and small cases.
import { describe, expect, it } from "vitest";
import { rankSlices, shardLayout, validTpSizes } from "../../runtime/parallel/layout.ts";

const medium = { numHeads: 96, numKvHeads: 8, headDim: 128, intermediateSize: 28672, vocabSize: 131072 };

describe("shard layout", () => {
  it("TP 4 splits query and KV heads: rank 1 holds q rows 3072..6143 and k/v rows 256..511", () => {
    const l = shardLayout(medium, 4);
    expect(l).toEqual({
      tpSize: 4,
      headsPerRank: 24,
      kvHeadsPerRank: 2,
      kvReplicas: 1,
      intermediatePerRank: 7168,
      vocabPerRank: 32768,
    });
    expect(rankSlices(medium, l, 1)).toEqual({
      rank: 1,
      q: { start: 3072, end: 6144 },
      kv: { start: 256, end: 512 },
      ffn: { start: 7168, end: 14336 },
      vocab: { start: 32768, end: 65536 },
    });
  });

  it("TP 8 gives each rank 12 query heads and exactly one KV head, the one its queries use", () => {
    const l = shardLayout(medium, 8);
    for (let r = 0; r < 8; r++) {
      const s = rankSlices(medium, l, r);
      const firstQueryHead = s.q.start / 128, kvHead = s.kv.start / 128;
      expect(s.q.end - s.q.start).toBe(12 * 128);
      expect(s.kv.end - s.kv.start).toBe(128);
      expect(kvHead).toBe(Math.floor(firstQueryHead / 12)); // GQA group of 12 query heads per KV head
    }
  });

  it("TP 16 replicates each KV head on two ranks: rank 5 holds query heads 30..35 and KV head 2", () => {
    const l = shardLayout(medium, 16);
    expect(l.kvReplicas).toBe(2);
    const s = rankSlices(medium, l, 5);
    expect(s.q).toEqual({ start: 30 * 128, end: 36 * 128 });
    expect(s.kv).toEqual({ start: 256, end: 384 });
    expect(rankSlices(medium, l, 4).kv).toEqual(s.kv);
  });

  it("refuses sizes that break the rule, naming the numbers and the sizes that work", () => {
    expect(validTpSizes(medium)).toEqual([1, 2, 4, 8, 16, 24, 32, 48, 96]);
    expect(() => shardLayout(medium, 3)).toThrow(
      /size 3 cannot shard this model: the 8 KV heads neither split into 3 parts nor divide 3; sizes that work: 1, 2, 4, 8, 16, 24, 32, 48, 96/,
    );
    expect(() => shardLayout(medium, 5)).toThrow(/5 does not divide the 96 query heads/);
    expect(rankSlices(medium, shardLayout(medium, 24), 1).ffn).toEqual({ start: 1194, end: 2389 }); // 28672 / 24 = 1194.67
    expect(() => shardLayout(medium, 0)).toThrow(/positive integer/);
    // 3 KV heads: TP 3 or 6, never 2 or 4 (issue 30)
    const three = { ...medium, numHeads: 24, numKvHeads: 3, intermediateSize: 96 };
    expect(validTpSizes(three, 8)).toEqual([1, 3, 6]);
  });

  it("splits a vocabulary that N does not divide into slices one row apart", () => {
    const odd = { numHeads: 4, numKvHeads: 4, headDim: 8, intermediateSize: 16, vocabSize: 10 };
    const l = shardLayout(odd, 4);
    expect([0, 1, 2, 3].map((r) => rankSlices(odd, l, r).vocab)).toEqual([
      { start: 0, end: 2 },
      { start: 2, end: 5 },
      { start: 5, end: 7 },
      { start: 7, end: 10 },
    ]);
    expect(l.vocabPerRank).toBe(3);
    expect(() => rankSlices(odd, l, 4)).toThrow(/rank 4 is outside 0..3/);
  });
});
