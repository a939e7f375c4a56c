// A paged-attention problem shared by the CUDA attention suites: random cache contents, a shuffled block pool,
// ragged sequences (cached keys plus new rows written at their next positions), run on one backend.
import { f32KvFormat, type KvFormat } from "../../ffi/backend-api.ts";
import { DType } from "../../ffi/symbols.ts";
import type { Backend } from "../../ffi/backend.ts";
import type { Rng } from "../../runtime/sampling/rng.ts";
import { randomF32 } from "../helpers/random.ts";

export interface Case {
  name: string;
  seqs: { cached: number; rows: number }[];
  H: number;
  KV: number;
  D: number;
  blockSize: number;
}

export interface Problem {
  c: Case;
  numBlocks: number;
  maxBlocks: number;
  kCache: Float32Array;
  vCache: Float32Array;
  k: Float32Array;
  v: Float32Array;
  q: Float32Array;
  slots: Int32Array;
  starts: Int32Array;
  lens: Int32Array;
  tables: Int32Array;
}

/** Random cache contents, a shuffled block pool, and new rows written at each sequence's next positions. */
export function makeProblem(rng: Rng, c: Case): Problem {
  const ctx = c.seqs.map((s) => s.cached + s.rows);
  const need = ctx.map((n) => Math.ceil(n / c.blockSize));
  const maxBlocks = Math.max(1, ...need) + 1, numBlocks = need.reduce((a, b) => a + b, 0) + 3;
  const pool = Array.from({ length: numBlocks }, (_, i) => i);
  for (let i = pool.length - 1; i > 0; i--) {
    const j = Math.floor(rng.nextFloat() * (i + 1));
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  const tables = new Int32Array(c.seqs.length * maxBlocks).fill(-1);
  let next = 0;
  need.forEach((n, s) => {
    for (let b = 0; b < n; b++) tables[s * maxBlocks + b] = pool[next++];
  });
  const T = c.seqs.reduce((a, s) => a + s.rows, 0), row = c.KV * c.D;
  const starts = new Int32Array(c.seqs.length + 1), slots = new Int32Array(T);
  let r = 0;
  c.seqs.forEach((s, i) => {
    for (let j = 0; j < s.rows; j++, r++) {
      const p = s.cached + j;
      slots[r] = tables[i * maxBlocks + Math.floor(p / c.blockSize)] * c.blockSize + (p % c.blockSize);
    }
    starts[i + 1] = r;
  });
  return {
    c,
    numBlocks,
    maxBlocks,
    tables,
    slots,
    starts,
    lens: Int32Array.from(ctx),
    kCache: randomF32(rng, numBlocks * c.blockSize * row),
    vCache: randomF32(rng, numBlocks * c.blockSize * row),
    k: randomF32(rng, T * row),
    v: randomF32(rng, T * row),
    q: randomF32(rng, T * c.H * c.D, 2),
  };
}

/** Writes the new rows into the cache and runs attention. f32 caches start as p.kCache / p.vCache and come back
 * after the write; other formats are encoded from them by gust_kv_write at every slot first (both backends
 * store the same bytes), and come back empty. initialOut fills the output buffer first (a poison check). */
export function runPaged(
  b: Backend,
  p: Problem,
  kvFormat: KvFormat = f32KvFormat,
  initialOut?: Float32Array,
): { out: Float32Array; kCache: Float32Array; vCache: Float32Array } {
  const { H, KV, D, blockSize } = p.c, T = p.slots.length;
  const isF32 = kvFormat.dtype === DType.F32, slotCount = p.numBlocks * blockSize;
  using kc = isF32 ? b.fromHost(p.kCache) : b.alloc(slotCount * KV * D * (kvFormat.dtype === DType.BF16 ? 2 : 1));
  using vc = isF32 ? b.fromHost(p.vCache) : b.alloc(slotCount * KV * D * (kvFormat.dtype === DType.BF16 ? 2 : 1));
  if (!isF32) {
    using kAll = b.fromHost(p.kCache);
    using vAll = b.fromHost(p.vCache);
    using every = b.fromHost(Int32Array.from({ length: slotCount }, (_, i) => i));
    b.kvWrite(kc, vc, kAll, vAll, every, slotCount, KV, D, p.numBlocks, blockSize, kvFormat);
  }
  using k = b.fromHost(p.k.length > 0 ? p.k : new Float32Array(1));
  using v = b.fromHost(p.v.length > 0 ? p.v : new Float32Array(1));
  using slots = b.fromHost(T > 0 ? p.slots : new Int32Array(1));
  using q = b.fromHost(p.q.length > 0 ? p.q : new Float32Array(1));
  using starts = b.fromHost(p.starts);
  using lens = b.fromHost(p.lens);
  using tables = b.fromHost(p.tables);
  using out = initialOut ? b.fromHost(initialOut) : b.alloc(Math.max(4, T * H * D * 4));
  b.kvWrite(kc, vc, k, v, slots, T, KV, D, p.numBlocks, blockSize, kvFormat);
  b.attention({
    out,
    q,
    kCache: kc,
    vCache: vc,
    queryStarts: starts,
    contextLens: lens,
    blockTables: tables,
    numSeqs: p.c.seqs.length,
    numTokens: T,
    numHeads: H,
    numKvHeads: KV,
    headDim: D,
    blockSize,
    maxBlocksPerSeq: p.maxBlocks,
    numBlocks: p.numBlocks,
    scale: 1 / Math.sqrt(D),
    kvFormat,
  });
  return {
    out: b.download(out, new Float32Array(T * H * D)),
    kCache: isF32 ? b.download(kc, new Float32Array(p.kCache.length)) : new Float32Array(0),
    vCache: isF32 ? b.download(vc, new Float32Array(p.vCache.length)) : new Float32Array(0),
  };
}
