// What the speculator remembers per sequence, and the draft's own pool of KV blocks with a prefix cache.
//
// Draft position p holds the input (token[p+1], target_hidden[p]). The draft KV is valid below
// `draftComputed`; `pendingHidden[i]` is the target's final-norm state at position draftComputed + i,
// waiting for the next catch-up. Example: prompt of 6 tokens prefilled (target positions 0..5, hidden
// for all), token 6 sampled → catch-up runs draft positions 0..5 with tokens 1..6.
//
// Draft prefix cache: draft block i (positions i·bs .. (i+1)·bs − 1) depends on the tokens up to and
// including (i+1)·bs, one past the block, so its key is the target's chained hash of block i plus that
// next token. Example, bs 4, tokens [1 5 9 2 | 7 7 3 8 | 4]: draft block 0 = key(h0, 7), block 1 = key(h1, 4).

import { BlockPool } from "../engine/block-pool.ts";

export interface SpecStats {
  /** Draft tokens proposed. */
  drafted: number;
  /** Draft tokens the target accepted (and that were emitted). */
  accepted: number;
  /** Verification forwards this sequence took part in. */
  steps: number;
  /** Tokens emitted by those steps (accepted drafts + the target's own token). */
  emitted: number;
}

export class DraftState {
  enabled = true;
  /** Why speculation stopped for this sequence (reported once). */
  offReason: string | null = null;
  draftComputed = 0;
  pendingHidden: Float32Array[] = [];
  blockTable: number[] = [];
  /** Full draft blocks already registered in the draft prefix cache. */
  registeredBlocks = 0;
  readonly stats: SpecStats = { drafted: 0, accepted: 0, steps: 0, emitted: 0 };

  disable(reason: string): void {
    this.enabled = false;
    this.offReason ??= reason;
    this.pendingHidden = [];
  }
}

export const draftBlockKey = (targetHash: string, nextToken: number) => `${targetHash}>${nextToken}`;

/** The draft cache's blocks: the engine's BlockPool (refcounts, eviction order, keyed cache) with the
 *  draft's own keys. */
export class DraftBlocks {
  readonly #pool: BlockPool;

  constructor(readonly numBlocks: number, readonly blockSize: number) {
    this.#pool = new BlockPool(numBlocks);
  }

  get numFree(): number {
    return this.#pool.numFree;
  }

  /** How many leading draft blocks the cache holds for these keys (stops at the first miss). */
  hits(keys: string[]): number {
    let n = 0;
    while (n < keys.length && this.#pool.lookup(keys[n]) !== undefined) n++;
    return n;
  }

  /** Takes references on the cached blocks for `keys` as the state's first blocks; its draft KV is then valid below them. */
  adopt(state: DraftState, keys: string[]): void {
    if (state.blockTable.length > 0) throw new Error("adopt needs a sequence without draft blocks");
    for (const key of keys) {
      const b = this.#pool.lookup(key)!;
      this.#pool.retain(b);
      state.blockTable.push(b);
    }
    state.draftComputed = keys.length * this.blockSize;
    state.registeredBlocks = keys.length;
  }

  /** Registers a full, valid draft block of the state under its key (idempotent). */
  register(state: DraftState, index: number, key: string): void {
    this.#pool.register(state.blockTable[index], key);
  }

  /** Grows `state.blockTable` to cover positions < numPositions; false (no change) if the pool is short. */
  ensure(state: DraftState, numPositions: number): boolean {
    const need = Math.ceil(numPositions / this.blockSize) - state.blockTable.length;
    if (need <= 0) return true;
    if (need > this.#pool.numFree) return false;
    for (let i = 0; i < need; i++) state.blockTable.push(this.#pool.take());
    return true;
  }

  release(state: DraftState): void {
    for (let i = state.blockTable.length - 1; i >= 0; i--) this.#pool.release(state.blockTable[i]);
    state.blockTable = [];
    state.draftComputed = 0;
    state.registeredBlocks = 0;
    state.pendingHidden = [];
  }
}
