/** From a checked, dialect-neutral chat request to what the runtime is asked for: prompt ids (instruct v15, with the
 * reasoning setting decided for this request), prepared images, sampling, limits checked against the context so that
 * the error names the field instead of coming back as a runtime refusal. No Hono here: routes and the function SDK
 * hand in what they read from their own context. */
import type { GenerateOptions, ImageInput, ModelInfo, SamplingParams } from "../sdk/binding.ts";
import type { VisionState } from "../http/env.ts";
import { HttpError } from "../http/errors.ts";
import { encodeChat } from "../../runtime/text/chat/encode.ts";
import type { EncodedChat } from "../../runtime/text/chat/encode.ts";
import type { Dialect } from "../../runtime/text/chat/input.ts";
import type { InputMessage } from "../../runtime/text/chat/types.ts";
import { ChatRequestError } from "../../runtime/text/errors.ts";
import { toolCallConstraint, type ToolCallSchemas, ToolChoiceError } from "./constraints.ts";

import type { ChatParams } from "./params.ts";
import { MISTRAL_SAFE_PROMPT } from "./params.ts";

export interface ChatLimits {
  /** max_tokens when the request gives none; null = all the room the context leaves. */
  defaultMaxTokens: number | null;
  /** temperature when the request gives none; null or absent = the runtime's default. */
  defaultTemperature?: number | null;
  /** Largest max_tokens a request may ask for; null = the context decides. */
  maxMaxTokens: number | null;
  /** Largest n. */
  maxN: number;
  /** Other names the model answers to in the `model` field. */
  modelAliases: readonly string[];
  /** Whose parameter schemas hold a call's arguments under tool_choice "auto"; absent = "all". */
  toolCallSchemas?: ToolCallSchemas;
}

/** The reasoning setting of one request: what goes into [MODEL_SETTINGS] and the think-block budget. */
export interface ChatReasoning {
  effort: "none" | "high";
  /** Tokens allowed inside [THINK]…[/THINK]; null = unlimited. */
  budgetTokens: number | null;
}

export interface PlanInput {
  info: ModelInfo;
  params: ChatParams;
  /** Which dialect's content rules the messages follow (Mistral checks 9-character tool-call ids). */
  dialect: Dialect;
  limits: ChatLimits;
  /** Absent: no reasoning (effort "none"). */
  reasoning?: ChatReasoning;
  /** Prepared images keyed by their source string in the messages; absent: image parts are refused. */
  vision?: VisionState;
  /** Said in the refusal of an image nobody prepared ("this route has no vision middleware ..."). */
  noVisionHint?: string;
}

export interface ChatPlan {
  params: ChatParams;
  encoded: EncodedChat;
  generate: Omit<GenerateOptions, "signal" | "timeoutMs">;
  maxTokens: number;
  reasoning: ChatReasoning;
  /** The requested max tokens was above the room the context leaves and was lowered to it; null otherwise. */
  clamped: { requested: number; allowed: number } | null;
}

/** Every name the model answers to: the runtime's id and its served names, then the gateway's own aliases. */
export function servedNames(info: ModelInfo, aliases: readonly string[]): string[] {
  return [...new Set([info.id, ...(info.aliases ?? []), ...aliases])];
}

export function checkModel(info: ModelInfo, requested: string | null, aliases: readonly string[]): void {
  const served = servedNames(info, aliases);
  if (requested === null || served.includes(requested)) return;
  const names = served.map((n) => JSON.stringify(n)).join(", ");
  throw new HttpError(
    404,
    "model_not_found",
    `model: ${JSON.stringify(requested)} is not served here; this gateway serves ${names} (see /v1/models)`,
    "model",
  );
}

function imageResolver(info: ModelInfo, vision: VisionState | undefined, noVisionHint: string) {
  return (source: string, path: string) => {
    if (!info.hasVision) {
      throw new ChatRequestError(path, "image-unsupported", `model ${info.id} takes text only`, "text content");
    }
    const img = vision?.images.get(source);
    if (!img) {
      const why = vision ? "the vision middleware did not prepare this image" : noVisionHint;
      throw new ChatRequestError(
        path,
        "image-unprepared",
        why,
        "text content, or a route with vision() in its middleware",
      );
    }
    return { width: img.width, height: img.height };
  };
}

function imagesFor(encoded: EncodedChat, vision: VisionState | undefined): ImageInput[] {
  return encoded.images.map((e) => {
    const img = vision!.images.get(e.source!)!;
    // the prompt's [IMG] grid and the pixels must describe the same image, or the runtime would misplace features
    if ((img.cols !== undefined && img.cols !== e.cols) || (img.rows !== undefined && img.rows !== e.rows)) {
      throw new HttpError(
        500,
        "image_grid_mismatch",
        `the vision middleware prepared a ${img.cols}x${img.rows} token grid but the chat encoder laid out ${e.cols}x${e.rows}; their image settings differ`,
      );
    }
    return { rgb: img.rgb, width: img.width, height: img.height, hash: img.hash };
  });
}

const NO_REASONING: ChatReasoning = { effort: "none", budgetTokens: 0 };

/** Most tokens count_tokens counts: far past any context (Anthropic counts prompts longer than the model's context,
 * and Claude Code asks in order to decide when to compact), yet a bound on the tokenizer's work in the gateway. */
export const COUNT_MAX_TOKENS = 1 << 20;

/** The request's prompt tokens, counted whether or not they fit the context (Messages' count_tokens). */
export function countPromptTokens(input: PlanInput): number {
  checkModel(input.info, input.params.model, input.limits.modelAliases);
  return encodeRequest(input, COUNT_MAX_TOKENS).ids.length;
}

/** The prompt in instruct v15, refused as soon as it cannot fit in `maxIds` tokens. */
function encodeRequest(input: PlanInput, maxIds: number): EncodedChat {
  const { info, params, dialect, vision } = input;
  const reasoning = input.reasoning ?? NO_REASONING;
  const messages: InputMessage[] = params.safePrompt
    ? [{ role: "system", content: MISTRAL_SAFE_PROMPT }, ...params.messages]
    : params.messages;
  try {
    return encodeChat(
      info.tokenizer,
      {
        messages,
        tools: params.tools,
        reasoning_effort: reasoning.effort,
        continue_final_message: params.continueFinal,
      },
      {
        dialect,
        resolveImage: imageResolver(info, vision, input.noVisionHint ?? "no vision middleware prepared images here"),
        maxIds,
      },
    );
  } catch (e) {
    // the safe prompt shifted every message index by one; report the client's own indices
    if (params.safePrompt && e instanceof ChatRequestError) throw shiftIndex(e);
    throw e;
  }
}

export function planChat(input: PlanInput): ChatPlan {
  const { info, params, limits, vision } = input;
  const tok = info.tokenizer;
  checkModel(info, params.model, limits.modelAliases);
  if (params.n > limits.maxN) {
    throw new HttpError(
      400,
      "invalid_value",
      `n: ${params.n} answers asked for; this gateway allows at most ${limits.maxN}`,
      "n",
    );
  }
  const reasoning = input.reasoning ?? NO_REASONING;
  const encoded = encodeRequest(input, info.contextLength);
  const context = info.contextLength;
  const promptLen = encoded.ids.length;
  const room = context - promptLen;
  if (room < 1) {
    throw new HttpError(
      400,
      "context_length_exceeded",
      `messages: the prompt is ${promptLen} tokens and the model's context holds ${context}, leaving no room to generate; shorten the conversation`,
      "messages",
    );
  }
  let maxTokens: number;
  let clamped: ChatPlan["clamped"] = null;
  if (params.maxTokens) {
    const { value, field } = params.maxTokens;
    if (limits.maxMaxTokens !== null && value > limits.maxMaxTokens) {
      throw new HttpError(
        400,
        "invalid_value",
        `${field}: ${value} is above this gateway's limit of ${limits.maxMaxTokens}`,
        field,
      );
    }
    // agents ask for 32000 whatever the model: clamp to the room left (the answer says so), as vLLM and
    // llama.cpp do; only a prompt that leaves no room at all is refused (above)
    maxTokens = Math.min(value, room);
    if (value > room) clamped = { requested: value, allowed: room };
  } else maxTokens = Math.min(room, limits.defaultMaxTokens ?? room, limits.maxMaxTokens ?? room);
  params.stopTokenIds.forEach((id, i) => {
    if (id >= info.vocabSize) {
      throw new HttpError(
        400,
        "invalid_value",
        `stop_token_ids[${i}]: ${id} is outside the vocabulary [0, ${info.vocabSize})`,
        `stop_token_ids[${i}]`,
      );
    }
  });
  const logitBias = { ...params.logitBias };
  // the tokenizer's vocabulary, not the model's: ids past it are padding rows of the embedding, and a bias that made
  // one of them likely would sample an id no text can be made of
  for (const id of Object.keys(logitBias).map(Number)) {
    if (id >= tok.vocabSize) {
      throw new HttpError(
        400,
        "invalid_value",
        `logit_bias: token id ${id} is not in the tokenizer's vocabulary [0, ${tok.vocabSize})`,
        "logit_bias",
      );
    }
  }
  // tool_choice "none" without constrained decoding: make the call token all but impossible (bias is additive on
  // the raw logit, e^-100 ≈ 0) and keep the tools in the prompt so earlier tool turns still make sense
  const callId = tok.findControl("[TOOL_CALLS]");
  if (params.toolChoice === "none" && params.tools && params.tools.length > 0 && callId !== undefined) {
    logitBias[callId] = -100;
  }
  const sampling: SamplingParams = {
    temperature: params.temperature ?? limits.defaultTemperature ?? undefined,
    topP: params.topP,
    topK: params.topK,
    minP: params.minP,
    presencePenalty: params.presencePenalty,
    frequencyPenalty: params.frequencyPenalty,
    repetitionPenalty: params.repetitionPenalty,
    logitBias: Object.keys(logitBias).length ? logitBias : undefined,
    seed: params.seed,
    logprobs: params.logprobs ? params.topLogprobs : undefined,
  };
  for (const k of Object.keys(sampling) as (keyof SamplingParams)[]) if (sampling[k] === undefined) delete sampling[k];
  const generate: ChatPlan["generate"] = {
    promptIds: encoded.ids,
    sampling,
    maxTokens,
    reasoningBudget: reasoning.budgetTokens,
    n: params.n,
  };
  if (encoded.images.length > 0) generate.images = imagesFor(encoded, vision);
  if (params.stopTokenIds.length > 0) generate.stopIds = params.stopTokenIds;
  if (params.ignoreEos) generate.ignoreEos = true;
  if (params.priority !== undefined) generate.priority = params.priority;
  if (params.responseFormat) generate.responseFormat = params.responseFormat;
  const toolCalls = requiredCalls(params, limits.toolCallSchemas);
  // a response format under "auto" leaves no room for calls: the format alone holds the answer
  if (toolCalls && !(toolCalls.optional && params.responseFormat)) {
    if (params.responseFormat) {
      throw new HttpError(
        400,
        "invalid_value",
        "response_format: cannot be combined with a tool_choice that requires calls (the answer is the calls); drop one of them",
        "response_format",
      );
    }
    generate.toolCalls = toolCalls;
  }
  return { params, encoded, generate, maxTokens, reasoning, clamped };
}

function shiftIndex(e: ChatRequestError): ChatRequestError {
  const path = e.path.replace(/^messages\[(\d+)\]/, (_, i) => `messages[${Number(i) - 1}]`);
  return new ChatRequestError(path, e.rule, e.detail, e.allowed);
}

function requiredCalls(params: ChatParams, schemas: ToolCallSchemas | undefined): GenerateOptions["toolCalls"] {
  try {
    return toolCallConstraint(params.tools, params.toolChoice, params.parallelToolCalls, schemas);
  } catch (e) {
    if (e instanceof ToolChoiceError) throw new HttpError(400, "invalid_value", `${e.field}: ${e.message}`, e.field);
    throw e;
  }
}
