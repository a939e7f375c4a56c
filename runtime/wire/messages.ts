// The messages of the runtime protocol (version 1). A gateway connects, receives `hello`, then sends
// `generate`/`abort`/`stats`; the runtime streams `deltas` (batched per engine step) and `error`s.
import type { SamplingParams, Usage } from "./types.ts";
import type { ImageTokenIds } from "./image-runs.ts";

export type { GeneratedToken, SamplingParams, TokenLogprob, Usage } from "./types.ts";

export const PROTOCOL_VERSION = 1;

export interface ImageSettings {
  patchSize: number;
  spatialMergeSize: number;
  maxImageSize: number;
  /** The image token layout's ids, present when the runtime has a vision tower: it keys the KV blocks of image runs
   * by the image's digest (image-keys.ts), and a gateway routing by prefix must find the same runs. */
  tokenIds?: ImageTokenIds;
}

/** What the runtime serves at most, said in its hello. */
export interface RuntimeLimits {
  maxNumSeqs: number;
  maxBatchedTokens: number;
  numBlocks: number;
  blockSize: number;
  maxImagesPerRequest: number;
  /** How long this runtime may go without answering while healthy (its longest expected step); a gateway without
   * its own --heartbeat-ms watches it with this. 0 or absent: do not watch (a CPU step can take seconds). */
  heartbeatMs?: number;
}

/** runtime → gateway, first frame on every connection; the binary attachment holds the tokenizer files. */
export interface HelloMessage {
  type: "hello";
  protocol: number;
  model: {
    id: string;
    /** More names the model answers to (`--served-model-name` after the first); absent from older runtimes. */
    aliases?: string[];
    contextLength: number;
    vocabSize: number;
    bosId: number;
    eosId: number;
    hasVision: boolean;
  };
  limits: RuntimeLimits;
  /** Tokenizer files (tekken.json, or tokenizer.json with tokenizer_config.json and config.json), packed
   *  one after another in the attachment; the gateway rebuilds the tokenizer with runtime/text's loader. */
  tokenizer: { files: { name: string; byteOffset: number; byteLength: number }[] };
  image: ImageSettings | null;
  draining: boolean;
}

/** One image of a generate request: raw RGB bytes (height × width × 3) at `byteOffset` of the attachment. */
export interface WireImage {
  width: number;
  height: number;
  byteOffset: number;
  /** Content hash (prefix caching keys image positions by it). */
  hash: string;
}

/** gateway → runtime */
export interface GenerateMessage {
  type: "generate";
  /** Unique per connection; echoed in deltas and errors. */
  id: string;
  /** The whole prompt, chat-encoded, image token layouts included. */
  promptIds: number[];
  /** RGB pixels of the prompt's images, in prompt order. */
  images?: WireImage[];
  sampling?: SamplingParams;
  /** Most tokens to generate (default: what the served context leaves). */
  maxTokens?: number;
  /** Token ids that end generation besides end-of-sequence. */
  stopIds?: number[];
  ignoreEos?: boolean;
  /** Tokens allowed inside [THINK]…[/THINK]; null or absent = unlimited. */
  reasoningBudget?: number | null;
  /** Lower = more urgent; default 0. */
  priority?: number;
  /** Independent samples of the prompt (they share its KV blocks). */
  n?: number;
  /** Draft tokens per speculative round (0 = no speculation for this request; default: the runtime's). */
  speculativeTokens?: number;
  /** Milliseconds from receipt after which the runtime aborts the request. */
  timeoutMs?: number;
  /** Constrain the answer (after any [THINK]…[/THINK]) to a JSON object or a JSON Schema; absent = free text. */
  responseFormat?: { type: "json_object" } | { type: "json_schema"; schema: unknown };
  /** The answer must be calls to these tools, arguments per their parameter schemas (any JSON object where a tool
   * has none) (tool_choice required or named); `parallel` allows more than one call; `optional` (tool_choice
   * auto): the answer may be text, and a call, once begun, is held to these names and schemas. Not combined with
   * responseFormat. */
  toolCalls?: { tools: { name: string; parameters?: unknown }[]; parallel: boolean; optional?: boolean };
}

export interface AbortMessage {
  type: "abort";
  id: string;
}

export interface StatsRequest {
  type: "stats";
  id: string;
}

/** gateway → runtime, first frame, only to a runtime started with --auth-token-file (it says hello after it). */
export interface AuthMessage {
  type: "auth";
  id: string;
  token: string;
}

export type ClientMessage = GenerateMessage | AbortMessage | StatsRequest | AuthMessage;

/** [token, logprob] or [token, logprob, [[alt, logprob], ...]] */
export type WireToken = [number, number] | [number, number, [number, number][]];

export interface WireDelta {
  id: string;
  index: number;
  tokens: WireToken[];
  /** Tokens the engine forced (reasoning budget), as positions within `tokens`. */
  forced?: number[];
  finish: "stop" | "length" | "abort" | null;
  usage?: Usage;
}

/** runtime → gateway, one per engine step per connection that has news. */
export interface DeltasMessage {
  type: "deltas";
  deltas: WireDelta[];
}

/** Why a request failed, from the engine to the HTTP answer (the gateway's RuntimeError carries the same codes and
 * maps each to a status). "unavailable" is the gateway's own: no runtime is connected. */
export const ERROR_CODES = [
  "invalid_request",
  "context_overflow",
  "does_not_fit",
  "duplicate_request",
  "draining",
  "overloaded",
  "internal",
  "unavailable",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ErrorMessage {
  type: "error";
  /** The request it concerns, or null for a connection-level error. */
  id: string | null;
  code: ErrorCode;
  message: string;
}

export interface RuntimeStats {
  running: number;
  waiting: number;
  kvBlocksUsed: number;
  kvBlocksTotal: number;
  prefixCacheHitRate: number;
  steps: number;
  abortedTotal: number;
  connections: number;
  /** Vision-tower calls and the image requests they served (several requests share a call). */
  vision?: { batches: number; requests: number };
  /** Speculative decoding totals (all zero without a draft model). */
  spec: { drafted: number; accepted: number; targetSteps: number; emitted: number };
}

export interface StatsMessage {
  type: "stats";
  id: string;
  stats: RuntimeStats;
}

export type ServerMessage = HelloMessage | DeltasMessage | ErrorMessage | StatsMessage;
