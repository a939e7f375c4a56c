// The mechanism under every KV block table: reference-counted blocks, a free queue in eviction order,
// and a content-keyed cache. A freed block (refcount 0) keeps its key while it waits in the free queue,
// so a later request can still reuse it; it loses the key only when it is handed out for new content
// (least recently freed first). The target's BlockManager and the EAGLE draft's DraftBlocks both sit on it.

export class BlockPool {
  readonly #refCount: Int32Array;
  readonly #keyOf: (string | null)[];
  /** Free blocks in eviction order (Map keeps insertion order; first = evicted first). */
  readonly #free = new Map<number, true>();
  readonly #cached = new Map<string, number>();

  constructor(readonly numBlocks: number) {
    this.#refCount = new Int32Array(numBlocks);
    this.#keyOf = new Array(numBlocks).fill(null);
    for (let b = 0; b < numBlocks; b++) this.#free.set(b, true);
  }

  get numFree(): number {
    return this.#free.size;
  }

  refCount(block: number): number {
    return this.#refCount[block];
  }

  /** A block for new content (its old key, if any, is forgotten); refcount 1. Caller checks numFree first. */
  take(): number {
    const [block] = this.#free.keys();
    this.#free.delete(block);
    const stale = this.#keyOf[block];
    if (stale !== null && this.#cached.get(stale) === block) this.#cached.delete(stale);
    this.#keyOf[block] = null;
    this.#refCount[block] = 1;
    return block;
  }

  /** One more reference to a cached block (it leaves the free queue if it was waiting there). */
  retain(block: number): void {
    if (this.#refCount[block] === 0) this.#free.delete(block);
    this.#refCount[block]++;
  }

  /** One reference fewer; at zero the block joins the tail of the free queue. */
  release(block: number): void {
    if (this.#refCount[block] <= 0) throw new Error(`Block ${block} released with refcount ${this.#refCount[block]}`);
    if (--this.#refCount[block] === 0) this.#free.set(block, true);
  }

  /** The cached block holding this content, if any. */
  lookup(key: string): number | undefined {
    return this.#cached.get(key);
  }

  /** Registers a block's content key (once; the first block registered for a key stays its holder). */
  register(block: number, key: string): void {
    if (this.#keyOf[block] !== null) return;
    this.#keyOf[block] = key;
    if (!this.#cached.has(key)) this.#cached.set(key, block);
  }

  isRegistered(block: number): boolean {
    return this.#keyOf[block] !== null;
  }

  /** Consistency check for tests: free + used = total, refcounts ≥ 0, free blocks have refcount 0. */
  checkInvariants(): string | null {
    let used = 0;
    for (let b = 0; b < this.numBlocks; b++) {
      if (this.#refCount[b] < 0) return `block ${b} has refcount ${this.#refCount[b]}`;
      if (this.#refCount[b] > 0) used++;
      if (this.#free.has(b) !== (this.#refCount[b] === 0)) {
        return `block ${b}: free=${this.#free.has(b)} refcount=${this.#refCount[b]}`;
      }
    }
    if (used + this.#free.size !== this.numBlocks) {
      return `used ${used} + free ${this.#free.size} ≠ total ${this.numBlocks}`;
    }
    return null;
  }
}
