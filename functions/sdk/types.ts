// What a function sees: `c.var.model` (a FunctionModel: chat, stream, tokenize, prepareImages, info — the model calls
// each taking an AbortSignal), `c.var.reasoning` (the resolved reasoning budget of this request) and, when the
// function composes `vision()`, `c.var.vision` (the request's prepared images).
import type { GenerateEvent, ModelBinding, ModelInfo, Usage } from "./binding.ts";
import type { VisionState } from "../http/env.ts";
import type { ChatRequest, InputChunk, InputMessage } from "../../runtime/text/index.ts";

export type { GenerateEvent, ModelBinding, ModelInfo, Usage };

export interface ReasoningSetting {
  effort: "none" | "high";
  /** Tokens allowed in the think block; null = unlimited. */
  budgetTokens: number | null;
}

/** An image part may also carry the image's bytes (PNG, JPEG, GIF, WebP or BMP file contents). */
export type ChatChunk = InputChunk | { type: "image"; image: string | Uint8Array };

export interface ChatMessage extends Omit<InputMessage, "content"> {
  content?: string | ChatChunk[] | null;
}

/** Limits on the images a function takes; unset fields keep the gateway's vision defaults. */
export interface FunctionVisionOptions {
  maxImages?: number;
  /** Image tokens over all images of one request. */
  maxImageTokens?: number;
  /** Bytes of one encoded image. */
  maxImageBytes?: number;
  /** Fetch http(s) image URLs (public addresses only, or the hosts of urlAllowlist). Default false. */
  allowUrls?: boolean;
  urlAllowlist?: string[];
  /** Shrink the request's images to fit maxImageTokens instead of refusing them. */
  downscaleToFit?: boolean;
}

export interface ChatInput extends Omit<ChatRequest, "reasoning_effort" | "messages"> {
  /** Image parts (data URLs, base64, bytes) are decoded and resized the way the chat routes' vision middleware does,
   * unless `vision` already holds them. */
  messages: ChatMessage[];
  /** Overrides the request's resolved reasoning setting. */
  reasoning?: Partial<ReasoningSetting>;
  /** Most tokens to generate. Default: all the room the context leaves after the prompt (or the operator's
   * default). More than that room is clamped to it, as on the /v1 routes, and the result's `maxTokensClamped` says
   * so; a prompt that alone fills the context is refused (status 400, naming both numbers). */
  maxTokens?: number;
  /** Default: the operator's `--default-temperature`, else 1 (the runtime's, vLLM's and OpenAI's); 0 = greedy. */
  temperature?: number;
  topP?: number;
  seed?: number;
  /** Strings that end the answer (cut from it), as the chat routes' `stop`. */
  stop?: string[];
  /** Token ids that stop generation (besides end of sequence). */
  stopTokenIds?: number[];
  /** Extra milliseconds before the runtime aborts the sequence. */
  timeoutMs?: number;
  /** "json_object": the answer (after any reasoning) is held to a JSON object; {type: "json_schema", schema}: to
   * that JSON Schema (see runtime/grammar/schema-grammar.ts for the supported keywords). Default "text". */
  responseFormat?: "text" | "json_object" | { type: "json_schema"; schema: unknown };
  /** "required": the answer is one or more calls to `tools`; `{ name }`: exactly one call to that tool. Default
   * "auto" (the model decides). Arguments follow each tool's `parameters` schema. */
  toolChoice?: "auto" | "required" | { name: string };
  /** Prepared images for the image parts of `messages`, keyed by source (what `vision()` puts in `c.var.vision`). */
  vision?: VisionState;
  /** How the images of `messages` that `vision` does not hold are prepared. */
  visionOptions?: FunctionVisionOptions;
}

export interface ChatToolCall {
  id: string;
  name: string;
  /** JSON text of the arguments, as the model wrote them. */
  arguments: string;
}

export interface ChatResult {
  content: string | null;
  reasoning: string | null;
  toolCalls: ChatToolCall[];
  finishReason: "stop" | "length" | "tool_calls" | "abort";
  usage: Usage;
  /** maxTokens was above the room the context leaves and was lowered to `allowed`; null when it was not. */
  maxTokensClamped: { requested: number; allowed: number } | null;
}

export type ChatStreamEvent =
  | { type: "reasoning"; text: string }
  | { type: "content"; text: string }
  | { type: "tool_call"; call: ChatToolCall }
  | {
    type: "done";
    finishReason: ChatResult["finishReason"];
    usage: Usage;
    maxTokensClamped: ChatResult["maxTokensClamped"];
  };

export interface FunctionModel {
  readonly info: ModelInfo;
  chat(input: ChatInput, signal?: AbortSignal): Promise<ChatResult>;
  stream(input: ChatInput, signal?: AbortSignal): AsyncIterable<ChatStreamEvent>;
  /** Chat-encodes messages (or plain text) into prompt ids, control tokens included. Asynchronous: inside a
   * function's isolate the tokenizer is the gateway's, reached over the isolate's channel. Input that cannot fit
   * the model's context is refused (400) before it is tokenized. */
  tokenize(input: { messages: InputMessage[]; tools?: ChatInput["tools"] } | { text: string }): Promise<number[]>;
  /** Decodes and resizes the images of a chat request body (`{messages: [...]}`) for this model, keyed by source;
   * what `vision()` puts in `c.var.vision`. Refusals carry a status (400, 403, 413) and name the part. */
  prepareImages(body: unknown, options?: FunctionVisionOptions): Promise<VisionState>;
  /** The low-level token-id binding, for functions that build prompts themselves. */
  readonly binding: ModelBinding;
}

/** The Hono `Env` of a function: bindings arrive in `c.env` and `gust()` copies them into `c.var`. */
export interface FunctionEnv {
  Bindings: FunctionBindings;
  Variables: { model: FunctionModel; reasoning: ReasoningSetting; requestId: string; vision: VisionState };
}

export interface FunctionBindings {
  model: FunctionModel;
  reasoning: ReasoningSetting;
  requestId: string;
}

/** How the gateway prepares images for functions (its vision library, edge/vision/): body → prepared images. */
export type ImagePreparer = (body: unknown, options: FunctionVisionOptions) => Promise<VisionState>;
