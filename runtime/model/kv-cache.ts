// The paged KV cache storage: per layer, K and V arrays of [num_blocks, block_size, kv_heads, head_dim] in the
// cache's storage dtype (f32, bf16 or FP8 E4M3 with per-layer scales; kernels/gust.h "KV cache storage").
// Which blocks a sequence owns is the block manager's business (engine); this file only holds memory.
import { type Backend, type DeviceBuffer, DType } from "../../ffi/backend.ts";
import type { TextConfig } from "../config/text-config.ts";

export interface KvCacheShape {
  numBlocks: number;
  blockSize: number;
}

/** How the cache stores K and V. `auto` (the flag's default) is bf16 on every backend. */
export type KvCacheDtype = "f32" | "bf16" | "fp8";
export const kvCacheDtypeChoices = ["auto", "f32", "bf16", "fp8"] as const;
export type KvCacheDtypeChoice = (typeof kvCacheDtypeChoices)[number];

export function resolveKvCacheDtype(choice: KvCacheDtypeChoice = "auto"): KvCacheDtype {
  return choice === "auto" ? "bf16" : choice;
}

export const kvElementBytes: Record<KvCacheDtype, number> = { f32: 4, bf16: 2, fp8: 1 };
export const kvNativeDtype: Record<KvCacheDtype, DType> = { f32: DType.F32, bf16: DType.BF16, fp8: DType.F8_E4M3 };

export class KvCache {
  readonly k: DeviceBuffer[] = [];
  readonly v: DeviceBuffer[] = [];
  readonly bytesPerBlock: number;

  constructor(
    backend: Backend,
    readonly config: TextConfig,
    readonly numBlocks: number,
    readonly blockSize: number,
    readonly dtype: KvCacheDtype = "f32",
  ) {
    if (!(numBlocks > 0 && blockSize > 0)) {
      throw new RangeError(`KV cache needs positive sizes, got ${numBlocks} blocks of ${blockSize}`);
    }
    this.bytesPerBlock = KvCache.bytesPerBlock(config, blockSize, dtype);
    const layerBytes = numBlocks * blockSize * config.numKvHeads * config.headDim * kvElementBytes[dtype];
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

  /** Bytes one token costs across all layers (K and V). Real model: 2 · 88 · 8 · 128 · 2 B = 352 KiB in bf16. */
  static bytesPerToken(config: TextConfig, dtype: KvCacheDtype = "f32"): number {
    return 2 * config.numLayers * config.numKvHeads * config.headDim * kvElementBytes[dtype];
  }

  /** Bytes one block costs across all layers (K and V), for sizing the pool from free memory. */
  static bytesPerBlock(config: TextConfig, blockSize: number, dtype: KvCacheDtype = "f32"): number {
    return blockSize * KvCache.bytesPerToken(config, dtype);
  }

  dispose(): void {
    for (const b of [...this.k, ...this.v]) b.dispose();
  }
}
