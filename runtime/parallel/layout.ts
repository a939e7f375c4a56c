// Tensor-parallel shard arithmetic (Megatron layout): which rows or columns of each decoder tensor a rank
// holds. Pure numbers, no ffi: the planner (`gust plan`) and the weight loader of rank r use the same rule.
//
//   q, k, v      split by output rows on head boundaries (the heads of rank r are contiguous)
//   gate, up     split by output rows: rank r holds [⌊r·F/N⌋, ⌊(r+1)·F/N⌋) (F = 100, N = 3: 0..32, 33..65,
//                66..99; any partition is exact, because down_proj's matching columns sum back to the whole)
//   o, down      split by input columns (their outputs are partial sums, all-reduced across ranks)
//   embedding    replicated; lm_head split by vocabulary rows: rank r holds [⌊r·V/N⌋, ⌊(r+1)·V/N⌋)
//                (V = 10, N = 4: 0..1, 2..4, 5..6, 7..9; never an empty slice while N ≤ V)
//   norms, FP8 scales: replicated (a per-tensor scale applies unchanged to every slice)
//
// KV heads: split when N divides them, replicated when N is a multiple of them. GQA maps query head h to KV
// head ⌊h / G⌋ with G = H / KV, so contiguous query blocks stay with their KV head either way.
// Example, H = 96, KV = 8, D = 128 (Mistral Medium 3.5):
//   N = 4: rank 1 holds query heads 24..47 (q rows 3072..6143) and KV heads 2..3 (k/v rows 256..511).
//   N = 16: rank 5 holds query heads 30..35 and KV head ⌊5 / 2⌋ = 2 (k/v rows 256..383), shared with rank 4.
//   N = 3 is refused: 8 KV heads neither divide into 3 nor divide 3.
import type { TextConfig } from "../config/text-config.ts";

/** The fields of a decoder configuration the layout depends on. */
export type LayoutShape = Pick<
  TextConfig,
  "numHeads" | "numKvHeads" | "headDim" | "intermediateSize" | "vocabSize"
>;

export interface ShardLayout {
  tpSize: number;
  headsPerRank: number;
  kvHeadsPerRank: number;
  /** Ranks holding a copy of each KV head: 1 when the KV heads are split, N / KV when they are replicated. */
  kvReplicas: number;
  /** gate/up rows and down columns of the largest slice: ceil(F / N). */
  intermediatePerRank: number;
  /** lm_head rows of the largest slice: ceil(V / N). */
  vocabPerRank: number;
}

/** Half-open row (or column) range [start, end) of one tensor on one rank. */
export interface Range {
  start: number;
  end: number;
}

export interface RankSlices {
  rank: number;
  /** Rows of q_proj (output) and columns of o_proj (input). */
  q: Range;
  /** Rows of k_proj and v_proj. */
  kv: Range;
  /** Rows of gate_proj/up_proj and columns of down_proj. */
  ffn: Range;
  /** Rows of lm_head. */
  vocab: Range;
}

export class TensorParallelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TensorParallelError";
  }
}

/** Why `tpSize` cannot shard this decoder, or null when it can. */
function layoutProblem(c: LayoutShape, n: number): string | null {
  if (c.numHeads % n !== 0) return `${n} does not divide the ${c.numHeads} query heads`;
  if (c.numKvHeads % n !== 0 && n % c.numKvHeads !== 0) {
    return `the ${c.numKvHeads} KV heads neither split into ${n} parts nor divide ${n}`;
  }
  if (n > c.vocabSize) return `${n} ranks exceed the vocabulary of ${c.vocabSize}`;
  return null;
}

/** Every tensor-parallel size from 1 to `upTo` that shards this decoder. */
export function validTpSizes(c: LayoutShape, upTo = c.numHeads): number[] {
  const sizes: number[] = [];
  for (let n = 1; n <= upTo; n++) if (layoutProblem(c, n) === null) sizes.push(n);
  return sizes;
}

export function shardLayout(c: LayoutShape, tpSize: number): ShardLayout {
  if (!Number.isInteger(tpSize) || tpSize < 1) {
    throw new TensorParallelError(`tensor-parallel size must be a positive integer, got ${tpSize}`);
  }
  const problem = layoutProblem(c, tpSize);
  if (problem !== null) {
    throw new TensorParallelError(
      `tensor-parallel size ${tpSize} cannot shard this model: ${problem}; sizes that work: ${
        validTpSizes(c).join(", ")
      }`,
    );
  }
  const splitKv = c.numKvHeads % tpSize === 0;
  return {
    tpSize,
    headsPerRank: c.numHeads / tpSize,
    kvHeadsPerRank: splitKv ? c.numKvHeads / tpSize : 1,
    kvReplicas: splitKv ? 1 : tpSize / c.numKvHeads,
    intermediatePerRank: Math.ceil(c.intermediateSize / tpSize),
    vocabPerRank: Math.ceil(c.vocabSize / tpSize),
  };
}

export function rankSlices(c: LayoutShape, layout: ShardLayout, rank: number): RankSlices {
  if (!Number.isInteger(rank) || rank < 0 || rank >= layout.tpSize) {
    throw new TensorParallelError(`rank ${rank} is outside 0..${layout.tpSize - 1}`);
  }
  const d = c.headDim;
  const q = layout.headsPerRank * d;
  const firstKvHead = Math.floor(rank / layout.kvReplicas) * layout.kvHeadsPerRank;
  const n = layout.tpSize;
  const floorSplit = (total: number) => ({
    start: Math.floor((rank * total) / n),
    end: Math.floor(((rank + 1) * total) / n),
  });
  return {
    rank,
    q: { start: rank * q, end: (rank + 1) * q },
    kv: { start: firstKvHead * d, end: (firstKvHead + layout.kvHeadsPerRank) * d },
    ffn: floorSplit(c.intermediateSize),
    vocab: floorSplit(c.vocabSize),
  };
}

/** The geometry rank r's forward runs with: its head counts and FFN width (hidden size and vocabulary stay
 *  whole: the residual stream is all-reduced and the logits gathered). */
export function rankShape<T extends LayoutShape>(c: T, layout: ShardLayout, slices: RankSlices): T {
  return {
    ...c,
    numHeads: layout.headsPerRank,
    numKvHeads: layout.kvHeadsPerRank,
    intermediateSize: slices.ffn.end - slices.ffn.start,
  };
}

/** Refuses more ranks than devices (CUDA: one GPU per rank), naming the sizes that fit; deviceCount 0 = no limit. */
export function checkDeviceCount(c: LayoutShape, tpSize: number, deviceCount: number): void {
  if (deviceCount === 0 || tpSize <= deviceCount) return;
  throw new TensorParallelError(
    `tensor-parallel size ${tpSize} needs ${tpSize} devices (one per rank) but ${deviceCount} are visible; sizes that fit: ${
      validTpSizes(c, deviceCount).join(", ")
    }`,
  );
}
