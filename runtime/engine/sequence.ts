// One generation request inside the engine: its tokens, where its K/V lives, and its life cycle
// waiting → running → finished | aborted (running → waiting again when preempted).
import type { ImageFeatures } from "../model/image-prefill.ts";
import type { TokenSampler } from "../sampling/token-sampler.ts";
import type { ReasoningBudget } from "./reasoning-budget.ts";
import type { BlockHash } from "../wire/block-hash.ts";
import type { GeneratedToken, TokenLogprob } from "../wire/types.ts";

export type SequenceStatus = "waiting" | "running" | "finished" | "aborted";
export type FinishReason = "stop" | "length" | "abort";

export type { GeneratedToken, TokenLogprob };

export interface SequenceLimits {
  maxTokens: number;
  stopIds: ReadonlySet<number>;
}

export class Sequence {
  status: SequenceStatus = "waiting";
  finishReason: FinishReason | null = null;
  /** Prompt followed by generated tokens. */
  readonly tokens: number[];
  /** Tokens whose K/V is in the cache (the prefix of `tokens` already computed). */
  numComputed = 0;
  /** Prompt tokens served from the prefix cache at the latest admission. */
  numCachedTokens = 0;
  /** Physical KV block ids in logical order. */
  blockTable: number[] = [];
  /** Chained content hashes of this sequence's full blocks, filled as blocks complete. */
  readonly blockHashes: BlockHash[] = [];
  readonly generated: GeneratedToken[] = [];
  /** Times this sequence was preempted (its K/V freed and recomputed later). */
  numPreemptions = 0;
  /** Engine step at which it last entered the waiting queue (for aging). */
  waitingSince = 0;
  /** Another sequence whose prompt must be computed first so this one reuses its blocks (n > 1). */
  waitFor: Sequence | null = null;
  abortRequested = false;
  /** Image features consumed by the [IMG] positions of the prompt (kept for recompute after preemption). */
  images: ImageFeatures | null = null;
  /** Draft tokens per speculative round for this sequence (0 = never speculate). */
  speculativeTokens = 0;

  constructor(
    readonly id: number,
    readonly requestId: string,
    promptIds: readonly number[],
    readonly numPromptTokens: number,
    readonly limits: SequenceLimits,
    readonly sampler: TokenSampler,
    readonly budget: ReasoningBudget,
    readonly priority: number,
    readonly arrival: number,
    /** Extra key per block for prefix hashing (image content), or "" */
    readonly blockExtraKey: (blockIndex: number) => string = () => "",
    readonly deadline: number | null = null,
  ) {
    this.tokens = [...promptIds];
  }

  get numTokens(): number {
    return this.tokens.length;
  }

  /** Generated tokens so far (kept alongside `tokens` so the per-token path never slices). */
  readonly outputIds: number[] = [];

  /** Appends a generated token. */
  appendOutput(token: number): void {
    this.tokens.push(token);
    this.outputIds.push(token);
  }

  get numOutputTokens(): number {
    return this.tokens.length - this.numPromptTokens;
  }

  get isDone(): boolean {
    return this.status === "finished" || this.status === "aborted";
  }
}
