// How many KV blocks to allocate, from the memory actually available at start.
//
// Example: 8 GiB free, fraction 0.5, tiny model with 2 layers · 2 KV heads · 16 dims · 4 B · 2 (K and V)
// = 512 B per token → block of 16 tokens = 8 KiB → 4 GiB / 8 KiB = 524,288 blocks, then capped at what
// maxNumSeqs full-length sequences could ever use (64 · 256 / 16 = 1,024 blocks).
import { freemem } from "node:os";
import type { TextConfig } from "../config/text-config.ts";
import { KvCache, type KvCacheDtype } from "../model/kv-cache.ts";

export interface PoolSizeOptions {
  blockSize: number;
  maxNumSeqs: number;
  maxModelLen: number;
  /** Share of the available memory the KV cache may take (default 0.5 on the CPU). */
  memoryFraction?: number;
  /** KV storage (default f32). */
  kvCacheDtype?: KvCacheDtype;
  /** Bytes available; default: the operating system's free memory. */
  availableBytes?: number;
}

export interface PoolSize {
  numBlocks: number;
  bytesPerBlock: number;
  availableBytes: number;
  /** Tokens the pool holds in total. */
  capacityTokens: number;
}

export function choosePoolSize(config: TextConfig, o: PoolSizeOptions): PoolSize {
  const bytesPerBlock = KvCache.bytesPerBlock(config, o.blockSize, o.kvCacheDtype);
  const availableBytes = o.availableBytes ?? freemem();
  const byMemory = Math.floor((availableBytes * (o.memoryFraction ?? 0.5)) / bytesPerBlock);
  const useful = Math.ceil((o.maxNumSeqs * o.maxModelLen) / o.blockSize);
  const numBlocks = Math.min(byMemory, useful);
  if (numBlocks < 1) {
    throw new RangeError(
      `No room for the KV cache: one block of ${o.blockSize} tokens needs ${bytesPerBlock} bytes, ` +
        `${availableBytes} bytes are available (fraction ${
          o.memoryFraction ?? 0.5
        }); free memory or shorten the context`,
    );
  }
  return { numBlocks, bytesPerBlock, availableBytes, capacityTokens: numBlocks * o.blockSize };
}
