// What a caller asks the engine for, what it gets back per step, and the engine's refusals.
import type { ImageFeatures } from "../model/image-prefill.ts";
import type { TokenSampler } from "../sampling/token-sampler.ts";
import type { ErrorCode } from "../wire/messages.ts";
import type { Usage } from "../wire/types.ts";
import type { FinishReason, GeneratedToken } from "./sequence.ts";

export interface EngineRequest {
  requestId: string;
  promptIds: readonly number[];
  /** Largest number of tokens to generate (default: what fits in the context). */
  maxTokens?: number;
  /** Token ids that end generation (the end-of-sequence id is added unless ignoreEos). */
  stopIds?: readonly number[];
  ignoreEos?: boolean;
  /** Tokens allowed inside [THINK]…[/THINK]; null or absent = unlimited. */
  reasoningBudget?: number | null;
  /** Lower = more urgent; default 0. */
  priority?: number;
  /** Number of independent samples of the prompt; they share the prompt's KV blocks. */
  n?: number;
  /** Absolute time (ms since epoch) after which the request is aborted. */
  deadline?: number;
  /** Vision-tower outputs for the prompt's [IMG] tokens, one row per [IMG] in prompt order. */
  images?: ImageFeatures;
  /** Extra prefix-cache key per block (image content behind placeholders). */
  blockExtraKey?: (blockIndex: number) => string;
  /** Draft tokens per speculative round (default: the engine's; 0 turns speculation off for this request). */
  speculativeTokens?: number;
  /** Builds the sampler of sample `index` (0..n−1). */
  sampler: (index: number) => TokenSampler;
}

export type { Usage };

export interface StepEvent {
  requestId: string;
  /** Which of the request's n samples. */
  index: number;
  /** Tokens appended in this step (empty for a finish without a token, e.g. abort). */
  tokens: GeneratedToken[];
  finishReason: FinishReason | null;
  usage?: Usage;
}

export type EngineErrorCode = Extract<
  ErrorCode,
  "invalid_request" | "context_overflow" | "does_not_fit" | "duplicate_request"
>;

/** A request the engine refuses; the message gives the numbers and what would be accepted. */
export class EngineError extends Error {
  constructor(
    readonly code: EngineErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "EngineError";
  }
}
