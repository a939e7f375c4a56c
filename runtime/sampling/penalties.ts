// Logit bias and the three penalties, applied in place to a working copy of one logits row. They touch only
// the ids a request names or has seen, so each costs O(distinct tokens), never O(vocabulary).
//
// Semantics (vLLM's apply_penalties, in this order):
//   repetition r (HF): for every distinct id in prompt ∪ generated, logit > 0 → logit / r, else logit × r
//   frequency f (OpenAI): logit −= f × (times the id was generated)
//   presence p (OpenAI): logit −= p if the id was generated at least once
// Frequency and presence look at generated tokens only; repetition also at the prompt.

/** Additive bias on the given ids (parallel arrays, built once per request). */
export function applyLogitBias(row: Float32Array, ids: Int32Array, biases: Float32Array): void {
  for (let j = 0; j < ids.length; j++) row[ids[j]] += biases[j];
}

export interface PenaltyValues {
  readonly presencePenalty: number;
  readonly frequencyPenalty: number;
  readonly repetitionPenalty: number;
}

/**
 * Token statistics one sequence's penalties need, kept incrementally: the engine hands the whole generated
 * list each step, and re-counting a long output every step would make decoding quadratic.
 */
export class TokenHistory {
  /** Generated id → how many times it was generated. */
  readonly counts = new Map<number, number>();
  /** Distinct ids of prompt ∪ generated, the repetition penalty's domain (kept only when it is on). */
  readonly #seen: Set<number> | undefined;
  readonly #seenList: number[] = [];
  readonly #promptIds: ArrayLike<number>;
  #counted = 0;
  #lastCounted = -1;

  constructor(promptIds: ArrayLike<number>, trackSeen: boolean) {
    this.#promptIds = promptIds;
    this.#seen = trackSeen ? new Set() : undefined;
    this.#reset();
  }

  /** Distinct ids of prompt ∪ generated (empty unless constructed with trackSeen). */
  get seen(): readonly number[] {
    return this.#seenList;
  }

  /**
   * Brings the statistics up to `generated`. The list is expected to grow by appending; when it is shorter
   * than before or its last counted token changed (rollback, recompute with different ids) everything is
   * recounted, so a wrong guess costs time, never correctness of the common append case.
   */
  update(generated: readonly number[]): void {
    const n = this.#counted;
    if (generated.length < n || (n > 0 && generated[n - 1] !== this.#lastCounted)) this.#reset();
    for (let i = this.#counted; i < generated.length; i++) this.#add(generated[i]);
    this.#counted = generated.length;
    this.#lastCounted = generated.length > 0 ? generated[generated.length - 1] : -1;
  }

  #reset(): void {
    this.counts.clear();
    this.#counted = 0;
    this.#lastCounted = -1;
    if (!this.#seen) return;
    this.#seen.clear();
    this.#seenList.length = 0;
    for (let i = 0; i < this.#promptIds.length; i++) this.#see(this.#promptIds[i]);
  }

  #add(id: number): void {
    this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
    this.#see(id);
  }

  #see(id: number): void {
    if (this.#seen && !this.#seen.has(id)) {
      this.#seen.add(id);
      this.#seenList.push(id);
    }
  }
}

/** Applies repetition, then frequency, then presence penalties in place. */
export function applyPenalties(row: Float32Array, history: TokenHistory, v: PenaltyValues): void {
  const r = v.repetitionPenalty;
  if (r !== 1) {
    for (const id of history.seen) {
      const x = row[id];
      row[id] = x > 0 ? x / r : x * r;
    }
  }
  const f = v.frequencyPenalty, p = v.presencePenalty;
  if (f !== 0 || p !== 0) {
    for (const [id, count] of history.counts) row[id] -= f * count + p;
  }
}
