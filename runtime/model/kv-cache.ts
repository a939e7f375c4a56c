// The paged KV cache storage: per layer, K and V arrays of [num_blocks, block_size, kv_heads, head_dim] f32.
// Which blocks a sequence owns is the block manager's business (engine); this file only holds memory.
import type { Backend, DeviceBuffer } from "../../ffi/backend.ts";
import type { TextConfig } from "../config/text-config.ts";

export interface KvCacheShape {
  numBlocks: number;
  blockSize: number;
}

export class KvCache {
  readonly k: DeviceBuffer[] = [];
  readonly v: DeviceBuffer[] = [];
  readonly bytesPerBlock: number;

  constructor(backend: Backend, readonly config: TextConfig, readonly numBlocks: number, readonly blockSize: number) {
    if (!(numBlocks > 0 && blockSize > 0)) {
      throw new RangeError(`KV cache needs positive sizes, got ${numBlocks} blocks of ${blockSize}`);
    }
    const layerBytes = numBlocks * blockSize * config.numKvHeads * config.headDim * 4;
    this.bytesPerBlock = (2 * layerBytes * config.numLayers) / numBlocks;
    try {
      for (let l = 0; l < config.numLayers; l++) {
        this.k.push(backend.alloc(layerBytes));
        this.v.push(backend.alloc(layerBytes));
      }
    } catch (err) {
      this.dispose();
      throw err;
    }
  }

  /** Bytes one block costs across all layers (K and V), for sizing the pool from free memory. */
  static bytesPerBlock(config: TextConfig, blockSize: number): number {
    return 2 * config.numLayers * blockSize * config.numKvHeads * config.headDim * 4;
  }

  dispose(): void {
    for (const b of [...this.k, ...this.v]) b.dispose();
  }
}
