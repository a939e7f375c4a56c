// What the speculator remembers per sequence, and the draft's own pool of KV blocks.
//
// Draft position p holds the input (token[p+1], target_hidden[p]). The draft KV is valid below
// `draftComputed`; `pendingHidden[i]` is the target's final-norm state at position draftComputed + i,
// waiting for the next catch-up. Example: prompt of 6 tokens prefilled (target positions 0..5, hidden
// for all), token 6 sampled → catch-up runs draft positions 0..5 with tokens 1..6.

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
  readonly stats: SpecStats = { drafted: 0, accepted: 0, steps: 0, emitted: 0 };

  disable(reason: string): void {
    this.enabled = false;
    this.offReason ??= reason;
    this.pendingHidden = [];
  }
}

/** A plain free list over the draft cache's blocks (no sharing, so no refcounts or hashing). */
export class DraftBlocks {
  readonly #free: number[];

  constructor(readonly numBlocks: number, readonly blockSize: number) {
    this.#free = Array.from({ length: numBlocks }, (_, i) => numBlocks - 1 - i);
  }

  get numFree(): number {
    return this.#free.length;
  }

  /** Grows `state.blockTable` to cover positions < numPositions; false (no change) if the pool is short. */
  ensure(state: DraftState, numPositions: number): boolean {
    const need = Math.ceil(numPositions / this.blockSize) - state.blockTable.length;
    if (need <= 0) return true;
    if (need > this.#free.length) return false;
    for (let i = 0; i < need; i++) state.blockTable.push(this.#free.pop()!);
    return true;
  }

  release(state: DraftState): void {
    this.#free.push(...state.blockTable.reverse());
    state.blockTable = [];
    state.draftComputed = 0;
    state.pendingHidden = [];
  }
}
