// Which slice of each weight a tensor-parallel rank holds (Megatron layout), as pure arithmetic that the
// loader, the forward and the planner share.
//
// Rules: N ranks must divide the query heads; the KV heads are split when N divides them, and copied when N
// is a multiple of them (each rank then holds the one KV head its query heads read). q/k/v and gate/up are
// split by output rows on head boundaries; o_proj and down_proj by input columns, their partial outputs
// summed by an all-reduce; lm_head by vocabulary rows, the logits gathered; the embedding is copied.
//
// Worked examples (head_dim D):
//  - 32 query heads, 8 KV heads, N = 4: rank 1 holds query heads 8..15 (q rows 8D..16D), KV heads 2..3
//    (k/v rows 2D..4D); query head 9 reads local KV head (9 − 8) / (8 / 2) = 0 = global KV head 2, as at TP 1
//    (9 / (32 / 8) = 2).
//  - 96 query heads, 8 KV heads, N = 8: 12 query heads and exactly one KV head per rank.
//  - 32 query heads, 4 KV heads, N = 8: KV copied; rank 5 holds query heads 20..23, which read KV head
//    floor(5 · 4 / 8) = 2 (at TP 1: 20 / 8 = 2).
//  - FFN 28672 over N = 3: rows 0..9556, 9557..19113, 19114..28671 (floor(r · F / N) boundaries; the column
//    split of down_proj needs no even division, only the same boundaries).
//  - vocab 131072 over N = 4: 32768 rows each; vocab 1000 over N = 3: stride ceil(1000 / 3) = 334, rows
//    0..333, 334..667, 668..999 (the last rank has 332 rows, padded to 334 in the gather).

export interface Span {
  start: number;
  count: number;
}

export interface RankShard {
  rank: number;
  numRanks: number;
  /** Query heads of this rank. */
  heads: Span;
  /** KV heads this rank holds (copied from another rank's when N > KV heads). */
  kvHeads: Span;
  /** Rows of gate/up and columns of down_proj. */
  ffn: Span;
  /** lm_head rows (vocabulary ids) of this rank. */
  vocab: Span;
  /** Rows every rank sends in the logits gather: ceil(vocab / N). */
  vocabStride: number;
}

/** The head geometry the rule needs (a TextConfig has these fields). */
export interface ShardableShape {
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  hiddenSize: number;
  intermediateSize: number;
  vocabSize: number;
}

/** Tensor-parallel sizes the head counts allow, from 1 up to the number of query heads. */
export function validSizes(numHeads: number, numKvHeads: number): number[] {
  const out: number[] = [];
  for (let n = 1; n <= numHeads; n++) {
    if (numHeads % n === 0 && (numKvHeads % n === 0 || n % numKvHeads === 0)) out.push(n);
  }
  return out;
}

const listWords = (sizes: number[]) =>
  sizes.length <= 1 ? sizes.join("") : `${sizes.slice(0, -1).join(", ")} or ${sizes[sizes.length - 1]}`;

/** Throws, naming the sizes that would work, unless `n` ranks can hold these heads. */
export function checkTensorParallel(numHeads: number, numKvHeads: number, n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`--tensor-parallel must be a positive integer, got ${n}`);
  if (numHeads % n === 0 && (numKvHeads % n === 0 || n % numKvHeads === 0)) return;
  const sizes = validSizes(numHeads, numKvHeads);
  if (numHeads % n !== 0) {
    throw new RangeError(`Cannot shard ${numHeads} query heads over ${n} ranks: use ${listWords(sizes)}`);
  }
  throw new RangeError(
    `Cannot shard ${numKvHeads} KV heads over ${n} ranks (${n} neither divides them nor is a multiple of them): ` +
      `use ${listWords(sizes)}`,
  );
}

/** Refuses a size larger than the devices present (CUDA), naming the sizes that fit. deviceCount 0 = no limit. */
export function checkDeviceCount(numHeads: number, numKvHeads: number, n: number, deviceCount: number): void {
  if (deviceCount === 0 || n <= deviceCount) return;
  const fit = validSizes(numHeads, numKvHeads).filter((s) => s <= deviceCount);
  throw new RangeError(
    `--tensor-parallel ${n} needs ${n} devices (one per rank) but ${deviceCount} are visible: use ${listWords(fit)}`,
  );
}

/** floor(r · total / n) boundaries: the ranks' spans tile 0..total. */
function evenSpan(total: number, n: number, r: number): Span {
  const start = Math.floor((r * total) / n), end = Math.floor(((r + 1) * total) / n);
  return { start, count: end - start };
}

export function shardFor(shape: ShardableShape, numRanks: number, rank: number): RankShard {
  checkTensorParallel(shape.numHeads, shape.numKvHeads, numRanks);
  if (!(rank >= 0 && rank < numRanks)) throw new RangeError(`Rank ${rank} is outside 0..${numRanks - 1}`);
  const headsPerRank = shape.numHeads / numRanks;
  const kvHeads = shape.numKvHeads % numRanks === 0
    ? { start: (rank * shape.numKvHeads) / numRanks, count: shape.numKvHeads / numRanks }
    : { start: Math.floor((rank * shape.numKvHeads) / numRanks), count: 1 };
  return {
    rank,
    numRanks,
    heads: { start: rank * headsPerRank, count: headsPerRank },
    kvHeads,
    ffn: evenSpan(shape.intermediateSize, numRanks, rank),
    vocab: vocabSpan(shape.vocabSize, numRanks, rank),
    vocabStride: Math.ceil(shape.vocabSize / numRanks),
  };
}

/** lm_head rows of rank r: ceil(V / N) each, the last rank's run cut at V (see the vocab example above). */
export function vocabSpan(vocabSize: number, numRanks: number, rank: number): Span {
  const stride = Math.ceil(vocabSize / numRanks), start = Math.min(vocabSize, rank * stride);
  return { start, count: Math.min(vocabSize, start + stride) - start };
}

/** The geometry one rank's forward runs with: its head counts and FFN width (vocabulary and hidden stay whole). */
export function localShape<T extends ShardableShape>(shape: T, shard: RankShard): T {
  return { ...shape, numHeads: shard.heads.count, numKvHeads: shard.kvHeads.count, intermediateSize: shard.ffn.count };
}

/** Per-rank weight shapes [rows, cols] of one decoder layer and the heads (for the planner and for tests). */
export function rankWeightShapes(shape: ShardableShape, shard: RankShard): Record<string, [number, number]> {
  const d = shape.headDim, c = shape.hiddenSize;
  return {
    q: [shard.heads.count * d, c],
    k: [shard.kvHeads.count * d, c],
    v: [shard.kvHeads.count * d, c],
    o: [c, shard.heads.count * d],
    gate: [shard.ffn.count, c],
    up: [shard.ffn.count, c],
    down: [c, shard.ffn.count],
    embed: [shape.vocabSize, c],
    lmHead: [shard.vocab.count, c],
  };
}
