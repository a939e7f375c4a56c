// The model binding: what the gateway's routes and users' functions see as `c.var.model`. It speaks
// token ids (the runtime's language); chat encoding and output parsing happen on this side with
// runtime/text. Implementations: the socket client to a runtime process (edge/runtime-client/), and
// fakes in unit tests.
import type { Tokenizer } from "../../runtime/text/index.ts";
import type {
  ErrorCode,
  GeneratedToken,
  GenerateMessage,
  ImageSettings,
  RuntimeLimits,
  RuntimeStats,
  SamplingParams,
  Usage,
} from "../../runtime/wire/messages.ts";

export type { GeneratedToken, ImageSettings, RuntimeStats, SamplingParams, Usage };

export interface ModelInfo {
  /** Model id as clients name it (`model` field of requests, /v1/models). */
  id: string;
  /** More names the runtime serves the model under (its --served-model-name list after the first). */
  aliases?: readonly string[];
  contextLength: number;
  vocabSize: number;
  tokenizer: Tokenizer;
  image: ImageSettings | null;
  hasVision: boolean;
  limits: RuntimeLimits;
}

export interface ImageInput {
  /** RGB bytes, height × width × 3, already resized to the model's grid. */
  rgb: Uint8Array;
  width: number;
  height: number;
  hash: string;
}

/** A generation request as the binding takes it: the wire message's fields (runtime/wire/messages.ts documents
 *  each), with images as pixels and an AbortSignal that aborts the sequence in the runtime within one step. */
export type GenerateOptions = Omit<GenerateMessage, "type" | "id" | "images"> & {
  images?: ImageInput[];
  signal?: AbortSignal;
};

export interface GenerateEvent {
  /** Which of the n samples. */
  index: number;
  tokens: GeneratedToken[];
  finishReason: "stop" | "length" | "abort" | null;
  usage?: Usage;
}

export interface ModelBinding {
  readonly info: ModelInfo;
  /** Streams token deltas until every sample finished. Rejects with a RuntimeError on refusal. */
  generate(options: GenerateOptions): AsyncIterable<GenerateEvent>;
  stats(signal?: AbortSignal): Promise<RuntimeStats>;
}

/** The runtime's error codes (runtime/wire/messages.ts), one vocabulary from the engine to the HTTP answer. */
export type RuntimeErrorCode = ErrorCode;

/** An error from (or about) the runtime; `status` is the HTTP status the gateway should answer with. */
export class RuntimeError extends Error {
  override name = "RuntimeError";
  constructor(
    readonly code: RuntimeErrorCode,
    message: string,
  ) {
    super(message);
  }

  get status(): number {
    switch (this.code) {
      case "invalid_request":
      case "context_overflow":
      case "duplicate_request":
        return 400;
      case "does_not_fit":
        return 413;
      case "overloaded":
        return 429;
      case "draining":
      case "unavailable":
        return 503;
      default:
        return 500;
    }
  }
}
