// Runs one sequence through the model without the engine: a contiguous run of KV blocks, prefill in
// chunks, then one-token decode steps. Used by the golden tests, the tests' oracle generator
// (test/helpers/generate.ts) and the CPU decode benchmark; `gust run` and the server use the engine.
import type { Backend } from "../../ffi/backend.ts";
import type { ForwardBatch, ForwardOptions, ImageEmbeddings } from "./batch.ts";
import { KvCache, type KvCacheDtype } from "./kv-cache.ts";
import type { TextModel } from "./text-model.ts";

export class SingleSequence {
  readonly cache: KvCache;
  readonly tokens: number[] = [];
  readonly blockTable: Int32Array;

  /** Reserves KV blocks for up to `capacity` tokens. Example: capacity 40, block size 16 → blocks [0, 1, 2]. */
  constructor(
    backend: Backend,
    readonly model: TextModel,
    readonly capacity: number,
    readonly blockSize = 16,
    kvDtype: KvCacheDtype = "f32",
  ) {
    if (capacity > model.maxPositions) {
      throw new RangeError(`A sequence of ${capacity} tokens exceeds the model's context of ${model.maxPositions}`);
    }
    const numBlocks = Math.max(1, Math.ceil(capacity / blockSize));
    this.cache = new KvCache(backend, model.config, numBlocks, blockSize, kvDtype);
    this.blockTable = Int32Array.from({ length: numBlocks }, (_, i) => i);
  }

  /** Appends `ids` in one forward; returns logits for every new row (allRows) or the last one.
   *  `imageEmbeddings` rows are relative to `ids` (see image-prefill.ts for taking them from an image cursor). */
  append(
    ids: ArrayLike<number>,
    options: ForwardOptions & { allRows?: boolean; imageEmbeddings?: ImageEmbeddings } = {},
  ) {
    const start = this.tokens.length, n = ids.length;
    if (n === 0) throw new RangeError("append needs at least one token");
    if (start + n > this.capacity) {
      throw new RangeError(`Sequence would grow to ${start + n} tokens; it was sized for ${this.capacity}`);
    }
    const positions = Int32Array.from({ length: n }, (_, i) => start + i);
    // positions map to slots through the block table: slot = table[p / bs] · bs + p % bs
    const slots = positions.map((p) =>
      this.blockTable[Math.floor(p / this.blockSize)] * this.blockSize + (p % this.blockSize)
    );
    const batch: ForwardBatch = {
      tokenIds: Int32Array.from(ids),
      positions,
      slots,
      queryStarts: Int32Array.of(0, n),
      contextLens: Int32Array.of(start + n),
      blockTables: this.blockTable,
      maxBlocksPerSeq: this.blockTable.length,
      logitRows: options.allRows ? Int32Array.from({ length: n }, (_, i) => i) : Int32Array.of(n - 1),
      imageEmbeddings: options.imageEmbeddings,
    };
    const result = this.model.forward(batch, this.cache, options);
    for (let i = 0; i < n; i++) this.tokens.push(ids[i]);
    return result;
  }

  dispose(): void {
    this.cache.dispose();
  }
}
