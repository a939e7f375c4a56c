// How many KV blocks to allocate, from the memory the device reports once the weights are loaded.
//
// CUDA (vLLM's --gpu-memory-utilization): the runtime may fill `gpuMemoryUtilization` of the GPU's total memory;
// what is in use already (weights, vision tower, scratch) is total − free, so the KV pool gets
//   free − total · (1 − utilization) − workspace.
// Example: 141 GiB H200 after 124.43 GiB of weights (and ~0.5 GiB of CUDA context) has ~16 GiB free; at 0.9,
// 16 − 14.1 = 1.9 GiB, minus 1.67 GiB of workspace (step, FP8 scratch, one vision-tower call), for the pool. CPU: a share (`memoryFraction`, default 0.5) of the host's available memory.
// Either way the pool is then capped at what maxNumSeqs full-length sequences could ever use.
// Example (CPU): 8 GiB available, fraction 0.5, tiny model with 2 layers · 2 KV heads · 16 dims · 2 B (bf16) · 2
// (K and V) = 256 B per token → block of 16 tokens = 4 KiB → 4 GiB / 4 KiB = 1,048,576 blocks, then capped at
// 64 · 256 / 16 = 1,024 blocks.
import type { TextConfig } from "../config/text-config.ts";
import { KvCache, type KvCacheDtype } from "../model/kv-cache.ts";

export interface DeviceMemory {
  freeBytes: number;
  totalBytes: number;
}

export interface PoolSizeOptions {
  blockSize: number;
  maxNumSeqs: number;
  maxModelLen: number;
  /** KV storage (default f32). */
  kvCacheDtype?: KvCacheDtype;
  /** What the backend reports (Backend.memoryInfo); `gpu` picks the utilisation rule over the host share. */
  memory: DeviceMemory & { gpu: boolean };
  /** GPU: share of total memory the runtime may fill (default 0.9). */
  gpuMemoryUtilization?: number;
  /** CPU: share of the available memory the KV cache may take (default 0.5). */
  memoryFraction?: number;
  /** Bytes kept for activations and the other per-step buffers (rankWorkspace in runtime/plan/memory-plan.ts,
   *  the same count `gust plan` makes). */
  workspaceBytes?: number;
  /** Bytes each target block brings along elsewhere (the EAGLE draft's own cache block). */
  extraBytesPerBlock?: number;
}

export interface PoolSize {
  numBlocks: number;
  bytesPerBlock: number;
  /** Bytes the pool was sized from (after the utilisation rule and the workspace). */
  budgetBytes: number;
  /** Tokens the pool holds in total. */
  capacityTokens: number;
}

export function choosePoolSize(config: TextConfig, o: PoolSizeOptions): PoolSize {
  const bytesPerBlock = KvCache.bytesPerBlock(config, o.blockSize, o.kvCacheDtype) + (o.extraBytesPerBlock ?? 0);
  const { freeBytes, totalBytes, gpu } = o.memory;
  const utilization = o.gpuMemoryUtilization ?? 0.9, fraction = o.memoryFraction ?? 0.5;
  const allowed = gpu ? freeBytes - totalBytes * (1 - utilization) : freeBytes * fraction;
  const budgetBytes = Math.max(0, allowed - (o.workspaceBytes ?? 0));
  const byMemory = Math.floor(budgetBytes / bytesPerBlock);
  const useful = Math.ceil((o.maxNumSeqs * o.maxModelLen) / o.blockSize);
  const numBlocks = Math.min(byMemory, useful);
  if (numBlocks < 1) {
    const rule = gpu
      ? `the GPU has ${gib(freeBytes)} free of ${gib(totalBytes)} and --gpu-memory-utilization ${utilization} ` +
        `leaves ${gib(Math.max(0, allowed))}; raise it or use --kv-cache-dtype fp8`
      : `${gib(freeBytes)} of host memory is available and --kv-memory-fraction ${fraction} gives ` +
        `${gib(Math.max(0, allowed))}; free memory or raise it`;
    throw new RangeError(
      `No room for the KV cache: one block of ${o.blockSize} tokens needs ${bytesPerBlock} bytes and ` +
        `${gib(o.workspaceBytes ?? 0)} is kept for activations, but ${rule}`,
    );
  }
  return { numBlocks, bytesPerBlock, budgetBytes, capacityTokens: numBlocks * o.blockSize };
}

export function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
}
