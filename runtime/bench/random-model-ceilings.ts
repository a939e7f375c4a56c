// The arithmetic beside `gust bench --random-model`: bytes and FLOPs per step of a Ministral3 decoder, how many of
// its layers fit a device's memory, and the ceilings each measured figure is printed against.
// Example (Mistral Medium 3.5, FP8): a layer streams 1,384,120,320 weight bytes (q, o 12288²; k, v 1024 × 12288;
// gate, up 28672 × 12288; down 12288 × 28672) plus its norms; lm_head 131072 × 12288 bf16 = 3.22 GB; so a batch-1
// step streams ≈ 125.0 GB, and at 4.8 TB/s the roofline is 38.4 tok/s (performance-anchors §1).
import type { TextConfig } from "../config/text-config.ts";
import { KvCache, type KvCacheDtype } from "../model/kv-cache.ts";

export interface DecoderBytes {
  /** Linear weights and norms of one layer. */
  perLayer: number;
  /** Multiply-adds ×2 of one layer's linears per token. */
  linearFlopsPerToken: number;
  /** Embedding + lm_head + final norm (held); lm_head + final norm are what a step streams. */
  held: number;
  streamedHead: number;
}

export function decoderBytes(c: TextConfig): DecoderBytes {
  const q = c.numHeads * c.headDim, kv = c.numKvHeads * c.headDim;
  const linearParams = 2 * q * c.hiddenSize + 2 * kv * c.hiddenSize + 3 * c.intermediateSize * c.hiddenSize;
  const weightBytes = c.quantization ? 1 : 2, head = 2 * c.vocabSize * c.hiddenSize;
  return {
    perLayer: linearParams * weightBytes + 2 * 2 * c.hiddenSize,
    linearFlopsPerToken: 2 * linearParams,
    held: 2 * head + 2 * c.hiddenSize,
    streamedHead: head + 2 * c.hiddenSize,
  };
}

/** KV bytes one token costs in one layer (K and V). Medium 3.5 in fp8: 2 · 8 · 128 = 2,048 B. */
export function kvBytesPerTokenLayer(c: TextConfig, dtype: KvCacheDtype): number {
  return KvCache.bytesPerToken({ ...c, numLayers: 1 }, dtype);
}

/** Bytes a decode step of `batch` sequences at `context` tokens each streams through `layers` layers. */
export function decodeStepBytes(c: TextConfig, layers: number, batch: number, context: number, dtype: KvCacheDtype) {
  const d = decoderBytes(c);
  return layers * (d.perLayer + batch * context * kvBytesPerTokenLayer(c, dtype)) + d.streamedHead;
}

/** FLOPs of a `tokens`-token prefill from scratch through `layers` layers (one logits row): the linears' 2·params
 *  per token, and causal attention's QKᵀ and PV, 2 · 2 · (T²/2) · heads · head_dim per layer. */
export function prefillFlops(c: TextConfig, layers: number, tokens: number) {
  const d = decoderBytes(c);
  return {
    linear: layers * tokens * d.linearFlopsPerToken + 2 * c.vocabSize * c.hiddenSize,
    attention: layers * 2 * tokens * tokens * c.numHeads * c.headDim,
  };
}

export interface Fit {
  layers: number;
  /** Bytes the rule leaves for weights, workspace and KV. */
  usableBytes: number;
}

/**
 * The most layers (at most c.numLayers) whose weights and `kvTokens` tokens of KV fit in `usable` bytes beside the
 * held tensors and `workspaceBytes`. Example (H200, usable 134 GB, fp8 KV, 35k tokens, 1.1 GB workspace): per layer
 * 1.384 GB + 35k · 2 KiB = 1.456 GB; (134 − 6.44 − 1.1) / 1.456 → 86 layers.
 */
export function layersThatFit(
  c: TextConfig,
  usable: number,
  workspaceBytes: number,
  kvTokens: number,
  dtype: KvCacheDtype,
): number {
  const d = decoderBytes(c), perLayer = d.perLayer + kvTokens * kvBytesPerTokenLayer(c, dtype);
  return Math.max(0, Math.min(c.numLayers, Math.floor((usable - d.held - workspaceBytes) / perLayer)));
}

/** The time of all `total` layers from the time at `layers` and at `base` layers (1, or 0 when only one ran: the
 *  embedding, final norm, lm_head, sampling and the host's work), linear in the layer count:
 *  t(total) = t(base) + (t(L) − t(base)) · (total − base) / (L − base).
 *  Example: 45 layers in 40.0 ms, one in 4.8 ms → 88 layers in 4.8 + 35.2 · 87/44 = 74.4 ms. */
export function scaleToLayers(tAtLayers: number, tAtBase: number, layers: number, base: number, total: number): number {
  if (layers >= total) return tAtLayers;
  return tAtBase + ((tAtLayers - tAtBase) * (total - base)) / (layers - base);
}
