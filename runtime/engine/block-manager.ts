// A fixed pool of KV blocks with reference counts and a prefix cache.
//
// A block holds `blockSize` consecutive token positions of one or more sequences (more than one only
// when prefix-shared). Sequence positions map to slots through the block table:
//   blocks needed for n tokens = ceil(n / blockSize); slot(p) = table[floor(p / blockSize)]·blockSize + p % blockSize
//   Example, blockSize 16, 40 tokens, table [7, 2, 9]: position 33 → 9·16 + 1 = 145.
//
// Prefix cache: each full, computed block is registered under its chained content hash in the BlockPool
// (refcounts, free queue in eviction order, keyed cache).
import { type BlockHash, hashBlock } from "../wire/block-hash.ts";
import { BlockPool } from "./block-pool.ts";
import type { Sequence } from "./sequence.ts";

export class BlockManager {
  readonly #pool: BlockPool;
  cacheHits = 0;
  cacheQueries = 0;

  constructor(readonly numBlocks: number, readonly blockSize: number) {
    if (!(Number.isInteger(numBlocks) && numBlocks > 0 && Number.isInteger(blockSize) && blockSize > 0)) {
      throw new RangeError(`Block pool needs positive integer sizes, got ${numBlocks} blocks of ${blockSize}`);
    }
    this.#pool = new BlockPool(numBlocks);
  }

  get numFree(): number {
    return this.#pool.numFree;
  }

  get numUsed(): number {
    return this.numBlocks - this.#pool.numFree;
  }

  refCount(block: number): number {
    return this.#pool.refCount(block);
  }

  blocksFor(numTokens: number): number {
    return Math.ceil(numTokens / this.blockSize);
  }

  /** Chained hash of full block i of seq, computed once and memoised on the sequence. */
  hashAt(seq: Sequence, i: number): BlockHash {
    return this.#hashAt(seq, i);
  }

  #hashAt(seq: Sequence, i: number): BlockHash {
    while (seq.blockHashes.length <= i) {
      const j = seq.blockHashes.length;
      const parent = j === 0 ? null : seq.blockHashes[j - 1];
      seq.blockHashes.push(
        hashBlock(parent, seq.tokens.slice(j * this.blockSize, (j + 1) * this.blockSize), seq.blockExtraKey(j)),
      );
    }
    return seq.blockHashes[i];
  }

  /**
   * Gives a waiting sequence blocks for all its tokens, reusing cached full blocks of its prefix.
   * The block holding the last token is never taken from the cache, so at least one token is computed
   * and produces logits. At most `maxHitBlocks` blocks come from the cache (a speculating sequence can
   * reuse only as much as its draft can). Returns false, changing nothing, when the pool cannot supply the rest.
   */
  allocate(seq: Sequence, maxHitBlocks = Infinity): boolean {
    if (seq.blockTable.length > 0) throw new Error(`Sequence ${seq.id} already holds ${seq.blockTable.length} blocks`);
    const total = this.blocksFor(seq.numTokens);
    const cacheable = Math.min(maxHitBlocks, Math.floor((seq.numTokens - 1) / this.blockSize));
    const hits: number[] = [];
    for (let i = 0; i < cacheable; i++) {
      const block = this.#pool.lookup(this.#hashAt(seq, i));
      if (block === undefined) break;
      hits.push(block);
    }
    const hitsFromFree = hits.filter((b) => this.#pool.refCount(b) === 0).length;
    if (total - hits.length + hitsFromFree > this.#pool.numFree) return false;
    this.cacheQueries += cacheable;
    this.cacheHits += hits.length;
    for (const b of hits) this.#pool.retain(b);
    seq.blockTable = [...hits];
    while (seq.blockTable.length < total) seq.blockTable.push(this.#pool.take());
    seq.numComputed = hits.length * this.blockSize;
    seq.numCachedTokens = seq.numComputed;
    return true;
  }

  /** Extra blocks a running sequence needs to hold `numNewTokens` more positions. */
  blocksToGrow(seq: Sequence, numNewTokens: number): number {
    return Math.max(0, this.blocksFor(seq.numComputed + numNewTokens) - seq.blockTable.length);
  }

  /** Grows the block table to cover `numNewTokens` more positions; false (no change) if the pool is short. */
  grow(seq: Sequence, numNewTokens: number): boolean {
    const need = this.blocksToGrow(seq, numNewTokens);
    if (need > this.#pool.numFree) return false;
    for (let i = 0; i < need; i++) seq.blockTable.push(this.#pool.take());
    return true;
  }

  /** Gives back the blocks past the first `keepBlocks` (rejected speculative positions). */
  truncate(seq: Sequence, keepBlocks: number): void {
    while (seq.blockTable.length > keepBlocks) this.#pool.release(seq.blockTable.pop()!);
  }

  /** Registers the sequence's full, computed blocks in the prefix cache (idempotent). */
  registerComputed(seq: Sequence): void {
    const full = Math.floor(seq.numComputed / this.blockSize);
    for (let i = 0; i < full; i++) {
      const block = seq.blockTable[i];
      if (!this.#pool.isRegistered(block)) this.#pool.register(block, this.#hashAt(seq, i));
    }
  }

  /** Drops the sequence's references; blocks reaching 0 join the free queue tail-first, so a shared
   *  prefix is evicted after the suffixes that hang off it. */
  release(seq: Sequence): void {
    for (let i = seq.blockTable.length - 1; i >= 0; i--) this.#pool.release(seq.blockTable[i]);
    seq.blockTable = [];
    seq.numComputed = 0;
  }

  /** Consistency check for tests: free + used = total, refcounts ≥ 0, free blocks have refcount 0. */
  checkInvariants(): string | null {
    return this.#pool.checkInvariants();
  }
}
