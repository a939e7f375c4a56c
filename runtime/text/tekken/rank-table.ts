/**
 * The tekken vocabulary as three flat typed arrays: every token's bytes in one pool, their offsets, and an
 * open-addressing hash table from bytes to rank.
 *
 * Why not a Map<string, number> and a Uint8Array per token: the gateway holds the tokenizer for its whole life, and
 * with the real model's 131,072 tokens those are ~400k small heap objects (strings, typed arrays and their array
 * buffers) that every full collection marks, moves and sweeps. In Deno that was a 38 MB live heap and full
 * collections of 26–33 ms, against 3.3 MB and 3.5–8 ms without the tokenizer (a 131k synthetic vocabulary, V8's
 * --trace-gc-nvp, 2-vCPU VM). Here the vocabulary is a handful of objects whatever its size, so the collector skips
 * over it. Lookups take a binary string (one char per byte, char codes 0..255) and a range, so the byte-pair merge
 * asks for a pair's rank without cutting a new string for it.
 *
 * Layout, worked example for ranks 0 = "a", 1 = "b", 2 = "ab":
 *   pool    = [0x61, 0x62, 0x61, 0x62]     offsets = [0, 1, 2, 4]   (rank r's bytes: pool[offsets[r]..offsets[r+1]))
 *   slots   = 8 entries (the next power of two ≥ 2 × 3), each -1 or a rank; "ab" hashes to h, and rank 2 sits at the
 *             first slot h, h+1, … (mod 8) that holds -1 or a rank with the same bytes.
 */

const EMPTY_SLOT = -1;
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

export class RankTable {
  /** Number of ranks. */
  readonly size: number;
  /** The first rank whose bytes equal an earlier rank's, or -1: that rank is not in the hash table. */
  readonly firstDuplicate: number;
  private readonly pool: Uint8Array;
  private readonly offsets: Int32Array;
  private readonly slots: Int32Array;
  private readonly slotMask: number;

  /** From each rank's bytes, in rank order. */
  constructor(tokens: readonly Uint8Array[]) {
    this.size = tokens.length;
    this.offsets = new Int32Array(tokens.length + 1);
    let total = 0;
    for (let r = 0; r < tokens.length; r++) {
      total += tokens[r].length;
      this.offsets[r + 1] = total;
    }
    this.pool = new Uint8Array(total);
    for (let r = 0; r < tokens.length; r++) this.pool.set(tokens[r], this.offsets[r]);
    let numSlots = 8;
    while (numSlots < 2 * tokens.length) numSlots *= 2;
    this.slots = new Int32Array(numSlots).fill(EMPTY_SLOT);
    this.slotMask = numSlots - 1;
    let firstDuplicate = -1;
    for (let r = 0; r < tokens.length; r++) {
      const inserted = this.insert(r);
      if (!inserted && firstDuplicate < 0) firstDuplicate = r;
    }
    this.firstDuplicate = firstDuplicate;
  }

  /** Rank r's bytes: a view into the pool (read it, do not write it). A new view per call, on the per-token decode
   * path too: young garbage that no scavenge has to copy, where a kept array per token is old garbage every full
   * collection marks. */
  bytes(rank: number): Uint8Array {
    return this.pool.subarray(this.offsets[rank], this.offsets[rank + 1]);
  }

  /** The rank whose bytes are the chars of `key` in [start, end) (a binary string), or -1. */
  rankOf(key: string, start = 0, end = key.length): number {
    let h = FNV_OFFSET;
    for (let i = start; i < end; i++) h = Math.imul(h ^ key.charCodeAt(i), FNV_PRIME);
    const len = end - start;
    for (let s = h & this.slotMask;; s = (s + 1) & this.slotMask) {
      const r = this.slots[s];
      if (r === EMPTY_SLOT) return -1;
      const at = this.offsets[r];
      if (this.offsets[r + 1] - at !== len) continue;
      let i = 0;
      while (i < len && this.pool[at + i] === key.charCodeAt(start + i)) i++;
      if (i === len) return r;
    }
  }

  /** Puts rank r in the hash table; false when an earlier rank has the same bytes (r is then left out). The probe
   * is rankOf's over pool bytes instead of a string's chars, written out rather than shared through a callback so
   * that the lookup on the encode path stays a plain loop. */
  private insert(r: number): boolean {
    const at = this.offsets[r];
    const len = this.offsets[r + 1] - at;
    let h = FNV_OFFSET;
    for (let i = 0; i < len; i++) h = Math.imul(h ^ this.pool[at + i], FNV_PRIME);
    for (let s = h & this.slotMask;; s = (s + 1) & this.slotMask) {
      const other = this.slots[s];
      if (other === EMPTY_SLOT) {
        this.slots[s] = r;
        return true;
      }
      const otherAt = this.offsets[other];
      if (this.offsets[other + 1] - otherAt !== len) continue;
      let i = 0;
      while (i < len && this.pool[otherAt + i] === this.pool[at + i]) i++;
      if (i === len) return false;
    }
  }
}
