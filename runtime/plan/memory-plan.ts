// Per-rank GPU memory accounting for `gust plan`: what the runtime would allocate on each rank, and how
// many tokens of KV cache the rest holds. Pure arithmetic over configs and header-declared tensor sizes.
//
// Budget per GPU = utilization × memory (vLLM's --gpu-memory-utilization, default 0.9). The 10 % left
// over is headroom for what the runtime does not allocate itself: the CUDA context and module images,
// NCCL's buffers, allocator fragmentation (vLLM instead measures that "non-torch" memory on the device).
// Inside the budget, each rank holds:
//   weights    its slices of the checkpoint tensors (tensor-placement.ts, runtime/parallel/layout.ts); the
//              FP8 scales are read into numbers on the host and take no device memory
//   fixed      RoPE cos/sin tables (f32, max-model-len × head_dim/2 each; the draft has its own; the vision
//              tower one for its patch grid) and the draft pool's extra block per sequence
//   workspace  activations of one step at its cap (f32, runtime/model/workspace.ts; under TP also the
//              logits gather of runtime/model/text-model.ts), the native scratch of the FP8 linears, the
//              draft's own workspace and inputs, and on the vision rank the most one vision-tower call holds
//              (one full-size image's patches, wide stages by chunks: runtime/vision/vision-memory.ts); that call
//              runs between steps in the memory of the freed step activations, so the larger of the two counts
//   KV cache   the rest, in whole blocks; every rank keeps the same number of blocks (one block table)
import type { TextConfig } from "../config/text-config.ts";
import { maxLogitRows } from "../eagle/rounds.ts";
import { defaultSpecOptions } from "../eagle/speculator.ts";
import { type StepCaps, textWorkspaceBytes } from "../model/workspace.ts";
import { type LayoutShape, rankSlices, type ShardLayout, shardLayout } from "../parallel/layout.ts";
import type { VisionConfig } from "../vision/vision-config.ts";
import { visionWorkspaceBytes } from "../vision/vision-memory.ts";
import type { PlacedTensor } from "./tensor-placement.ts";

export type KvCacheDtype = "auto" | "f32" | "bf16" | "fp8";
/** Bytes per KV element; "auto" is bf16, the GPU default (issue 31). */
export const kvCacheDtypeBytes: Record<KvCacheDtype, number> = { auto: 2, f32: 4, bf16: 2, fp8: 1 };

/** The rank that runs the vision tower and projector; their output rows are sent to the other ranks. */
export const VISION_RANK = 0;

export interface PlanOptions {
  tpSize: number;
  gpuMemoryBytes: number;
  /** Share of each GPU's memory the runtime may use (default 0.9, as vLLM). */
  utilization: number;
  kvCacheDtype: KvCacheDtype;
  /** Longest sequence to serve; undefined: the model's context, shrunk to the pool as the runtime does. */
  maxModelLen?: number;
  maxNumSeqs: number;
  maxBatchedTokens: number;
  blockSize: number;
  /** Skip the vision tower (gust runtime --text-only). */
  textOnly: boolean;
}

export const defaultPlanOptions = {
  utilization: 0.9,
  kvCacheDtype: "auto",
  maxNumSeqs: 64,
  maxBatchedTokens: 2048,
  blockSize: 16,
  textOnly: false,
} as const;

/** What the config files and safetensors headers say. */
export interface PlanInputs {
  text: TextConfig;
  vision: VisionConfig | null;
  draft: TextConfig | null;
  tensors: PlacedTensor[];
}

export interface Workspace {
  text: number;
  scratch: number;
  draft: number;
  vision: number;
  total: number;
}

export interface RankPlan {
  rank: number;
  weightBytes: number;
  fixedBytes: number;
  workspace: Workspace;
  kvBytesPerToken: number;
  budgetBytes: number;
  /** Budget − weights − fixed − workspace (negative when they do not fit). */
  freeBytes: number;
  /** Tokens of KV this rank's memory holds, in whole blocks (0 when it holds none). */
  poolTokens: number;
}

export interface MemoryPlan {
  options: PlanOptions;
  layout: ShardLayout;
  ranks: RankPlan[];
  /** Tokens in the KV pool: the smallest rank's, capped as the runtime caps it. */
  poolTokens: number;
  /** Longest sequence served: min(pool, max-model-len or the model's context). */
  contextTokens: number;
  fits: boolean;
  /** Why it does not fit (null when it fits). */
  reason: string | null;
}

const F32 = 4;

/**
 * What one rank keeps for activations at its step caps: the decoder's Workspace, the FP8 linears' activation
 * codes, the draft's Workspace and inputs, and on the vision rank the most one vision-tower call holds; that call
 * runs between steps with the decoder's Workspace freed (runtime/server/images.ts), so only the larger counts.
 * `gust plan` counts it and the runtime reserves it before sizing the KV pool (runtime/server/model-host.ts).
 */
export function rankWorkspace(
  c: TextConfig,
  layout: ShardLayout,
  caps: StepCaps,
  draft: TextConfig | null,
  vision: VisionConfig | null,
): Workspace {
  const tokens = caps.maxTokens, rows = caps.maxRows;
  const text = textWorkspaceBytes(c, layout, tokens, rows);
  const widestInput = Math.max(c.hiddenSize, layout.headsPerRank * c.headDim, layout.intermediatePerRank);
  const scratch = c.quantization ? tokens * widestInput : 0; // FP8 activation codes, one byte each
  const draftBytes = draft ? textWorkspaceBytes(draft, layout, tokens, rows) + 3 * tokens * c.hiddenSize * F32 : 0;
  const visionBytes = vision ? visionWorkspaceBytes(vision) : 0;
  // a vision-tower call runs between steps, with the decoder's step buffers freed: the larger of the two counts
  const total = scratch + draftBytes + Math.max(text, visionBytes);
  return { text, scratch, draft: draftBytes, vision: visionBytes, total };
}

function kvBytesPerToken(c: TextConfig, layout: ShardLayout, dtypeBytes: number): number {
  return 2 * c.numLayers * layout.kvHeadsPerRank * c.headDim * dtypeBytes;
}

/** Bytes of one tensor a rank holds. Example: q_proj [12288, 12288] FP8 at TP 4 → 3072 rows · 12288 B. */
export function rankTensorBytes(t: PlacedTensor, shape: LayoutShape, layout: ShardLayout, rank: number): number {
  const p = t.placement;
  if (p.kind === "host") return 0;
  if (p.kind === "replicated") return t.bytes;
  if (p.kind === "visionRank") return rank === VISION_RANK ? t.bytes : 0;
  const s = rankSlices(shape, layout, rank)[p.part];
  const dim = p.kind === "rows" ? t.shape[0] : t.shape[1];
  return (t.bytes / dim) * (s.end - s.start);
}

export function planMemory(inputs: PlanInputs, o: PlanOptions): MemoryPlan {
  const c = inputs.text;
  const layout = shardLayout(c, o.tpSize);
  const maxModelLen = Math.min(o.maxModelLen ?? c.maxPositions, c.maxPositions);
  const dtypeBytes = kvCacheDtypeBytes[o.kvCacheDtype];
  const vision = o.textOnly ? null : inputs.vision;
  const maxSeqs = o.maxNumSeqs;
  const ropeBytes = (headDim: number, positions: number) => 2 * positions * (headDim / 2) * F32;
  const draftKvPerToken = inputs.draft ? kvBytesPerToken(inputs.draft, layout, dtypeBytes) : 0;
  const budgetBytes = Math.floor(o.utilization * o.gpuMemoryBytes);
  const ranks: RankPlan[] = [];
  for (let rank = 0; rank < o.tpSize; rank++) {
    let weightBytes = 0;
    for (const t of inputs.tensors) {
      if (t.placement.kind === "visionRank" && !vision) continue;
      weightBytes += rankTensorBytes(t, c, layout, rank);
    }
    const onVisionRank = vision !== null && rank === VISION_RANK;
    let fixedBytes = ropeBytes(c.headDim, maxModelLen);
    if (inputs.draft) fixedBytes += ropeBytes(c.headDim, maxModelLen) + maxSeqs * o.blockSize * draftKvPerToken;
    if (onVisionRank) fixedBytes += ropeBytes(vision.headDim, vision.maxPatchesPerSide ** 2);
    const maxRows = maxLogitRows(o.maxNumSeqs, inputs.draft ? defaultSpecOptions.maxBatch : null);
    const caps = { maxTokens: o.maxBatchedTokens, maxRows };
    const workspace = rankWorkspace(c, layout, caps, inputs.draft, onVisionRank ? vision : null);
    const kvPerToken = kvBytesPerToken(c, layout, dtypeBytes) + draftKvPerToken;
    const freeBytes = budgetBytes - weightBytes - fixedBytes - workspace.total;
    const blocks = freeBytes > 0 ? Math.floor(freeBytes / (kvPerToken * o.blockSize)) : 0;
    ranks.push({
      rank,
      weightBytes,
      fixedBytes,
      workspace,
      kvBytesPerToken: kvPerToken,
      budgetBytes,
      freeBytes,
      poolTokens: blocks * o.blockSize,
    });
  }
  // the runtime never allocates more blocks than max-num-seqs full-length sequences could use
  const usefulTokens = Math.ceil((o.maxNumSeqs * maxModelLen) / o.blockSize) * o.blockSize;
  const poolTokens = Math.min(usefulTokens, ...ranks.map((r) => r.poolTokens));
  const contextTokens = Math.min(poolTokens, maxModelLen);
  const reason = whyNot(ranks, poolTokens, o);
  return { options: o, layout, ranks, poolTokens, contextTokens, fits: reason === null, reason };
}

const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(2)} GiB`;

function whyNot(ranks: RankPlan[], poolTokens: number, o: PlanOptions): string | null {
  const budget = `its budget is ${gib(ranks[0].budgetBytes)} (${o.utilization} × ${gib(o.gpuMemoryBytes)})`;
  const tightest = ranks.reduce((a, b) => (b.freeBytes < a.freeBytes ? b : a));
  if (tightest.weightBytes > tightest.budgetBytes) {
    return `rank ${tightest.rank} needs ${gib(tightest.weightBytes)} for its weights alone; ${budget}`;
  }
  if (tightest.freeBytes < tightest.kvBytesPerToken * o.blockSize) {
    const used = tightest.weightBytes + tightest.fixedBytes + tightest.workspace.total;
    return `rank ${tightest.rank} needs ${gib(used)} for weights, tables and workspace, leaving no room for one ` +
      `KV block of ${o.blockSize} tokens; ${budget}`;
  }
  if (o.maxModelLen !== undefined && poolTokens < o.maxModelLen) {
    return `the KV pool holds ${poolTokens} tokens, fewer than --max-model-len ${o.maxModelLen}`;
  }
  return null;
}
