// `c.var.model` in a function: chat messages in, parsed answers out (reasoning, content, tool calls). A thin wrapper
// on the chat core (functions/chat/), the same planning, limits, defaults and parsing as the /v1 chat routes: the
// SDK's camelCase fields become the core's ChatParams, and the core's events become ChatStreamEvents.
import { type ModelBinding, RuntimeError } from "./binding.ts";
import { systemClock } from "../http/clock.ts";
import { HttpError, toHttpError } from "../http/errors.ts";
import { ChatRequestError, encodeChat, minTokens, type Tokenizer } from "../../runtime/text/index.ts";
import type { ChatEvent } from "../chat/choice.ts";
import type { ChatParams } from "../chat/params.ts";
import { type ChatLimits, planChat } from "../chat/plan.ts";
import { ChatRun, ClientGone } from "../chat/run.ts";
import type { InputMessage } from "../../runtime/text/index.ts";
import type { VisionState } from "../http/env.ts";
import type {
  ChatInput,
  ChatMessage,
  ChatResult,
  ChatStreamEvent,
  FunctionModel,
  FunctionVisionOptions,
  ImagePreparer,
  ReasoningSetting,
  Usage,
} from "./types.ts";

const emptyUsage: Usage = {
  prompt_tokens: 0,
  completion_tokens: 0,
  total_tokens: 0,
  reasoning_tokens: 0,
  budget_exhausted: false,
  cached_tokens: 0,
  preemptions: 0,
};

/** A function's limits when the gateway gives none: the context decides max tokens, one answer per call. */
export const FUNCTION_CHAT_LIMITS: ChatLimits = {
  defaultMaxTokens: null,
  maxMaxTokens: null,
  maxN: 1,
  modelAliases: [],
};

export interface FunctionModelOptions {
  /** The gateway's chat limits (the same the /v1 routes apply); n is always 1 here. */
  limits?: ChatLimits;
  /** The gateway's image preparation; absent: image parts are refused unless `vision` holds them. */
  prepareImages?: ImagePreparer;
}

/** Image bytes become base64 strings (an `image` part as Mistral's dialect has it), so the source string that keys
 * a prepared image is the same for the encoder and the preparer. */
function withBase64Images(messages: ChatMessage[]): InputMessage[] {
  return messages.map((m) => {
    if (!Array.isArray(m.content) || !m.content.some((c) => c.type === "image" && c.image instanceof Uint8Array)) {
      return m as InputMessage;
    }
    const content = m.content.map((c) =>
      c.type === "image" && c.image instanceof Uint8Array ? { type: "image" as const, image: base64(c.image) } : c
    );
    return { ...m, content } as InputMessage;
  });
}

function base64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** The SDK's fields as the core's neutral request; error messages name the SDK's field names. */
function paramsOf(input: ChatInput, messages: InputMessage[]): ChatParams {
  const rf = input.responseFormat;
  return {
    model: null,
    messages,
    tools: input.tools ?? null,
    toolChoice: input.toolChoice ?? "auto",
    parallelToolCalls: true,
    maxTokens: input.maxTokens === undefined ? null : { value: input.maxTokens, field: "maxTokens" },
    temperature: input.temperature,
    topP: input.topP,
    seed: input.seed,
    stop: input.stop ?? [],
    stopTokenIds: input.stopTokenIds ?? [],
    n: 1,
    logprobs: false,
    topLogprobs: 0,
    stream: true,
    includeUsage: true,
    includeReasoning: true,
    ignoreEos: false,
    continueFinal: input.continue_final_message === true,
    safePrompt: false,
    responseFormat: rf === undefined || rf === "text"
      ? null
      : rf === "json_object"
      ? { type: "json_object" }
      : { type: "json_schema", schema: rf.schema },
  };
}

/** The chat core names the request fields the way the HTTP dialects spell them; a function wrote the SDK's names. */
const SDK_FIELDS: Record<string, string> = {
  tool_choice: "toolChoice",
  "tool_choice.function.name": "toolChoice.name",
  response_format: "responseFormat",
};

function sdkFieldNames<T>(plan: () => T): T {
  try {
    return plan();
  } catch (e) {
    const field = e instanceof HttpError && e.param !== null ? SDK_FIELDS[e.param] : undefined;
    if (!field || !(e instanceof HttpError)) throw e;
    const message = e.message.startsWith(`${e.param}:`) ? field + e.message.slice(e.param!.length) : e.message;
    throw new HttpError(e.status, e.code, message, field, e.headers, e.type);
  }
}

/** `model.tokenize({text})`: text sure to exceed the context is refused before it is tokenized (a 30 MB text would
 * hold the gateway's event loop for seconds). */
function encodeText(tok: Tokenizer, text: string, maxIds: number): number[] {
  const atLeast = minTokens(tok, text);
  if (atLeast > maxIds) {
    throw new HttpError(
      400,
      "context_length_exceeded",
      `text: it is at least ${atLeast} tokens and the model's context holds ${maxIds}; tokenize it in parts`,
      "text",
    );
  }
  return tok.encode(text);
}

/** A chat request's refusal (ChatRequestError) as the 400 it is, so that it keeps its status across an isolate. */
function chatErrors<T>(encode: () => T): T {
  try {
    return encode();
  } catch (e) {
    throw e instanceof ChatRequestError ? toHttpError(e) : e;
  }
}

export function createFunctionModel(
  binding: ModelBinding,
  defaults: ReasoningSetting,
  opts: FunctionModelOptions = {},
): FunctionModel {
  const tok = binding.info.tokenizer;
  const limits = { ...(opts.limits ?? FUNCTION_CHAT_LIMITS), maxN: 1 };

  function prepareImages(body: unknown, options: FunctionVisionOptions = {}): Promise<VisionState> {
    if (!opts.prepareImages) throw new RuntimeError("unavailable", "this gateway prepares no images for functions");
    return opts.prepareImages(body, options);
  }

  /** The prepared images for `messages`: the caller's, or this call's own when some image is not among them. */
  async function visionFor(input: ChatInput, messages: InputMessage[]): Promise<VisionState | undefined> {
    const given = input.vision;
    const sources = messages.flatMap((m) =>
      Array.isArray(m.content)
        ? m.content.flatMap((c) =>
          c.type === "image"
            ? [c.image]
            : c.type === "image_url"
            ? [typeof c.image_url === "string" ? c.image_url : c.image_url?.url]
            : []
        )
        : []
    );
    if (sources.every((s) => given?.images.has(s as string)) || !opts.prepareImages || !binding.info.hasVision) {
      return given;
    }
    return await prepareImages({ messages }, input.visionOptions);
  }

  async function* stream(input: ChatInput, signal?: AbortSignal): AsyncIterable<ChatStreamEvent> {
    const reasoning = { ...defaults, ...input.reasoning };
    const messages = withBase64Images(input.messages);
    const vision = await visionFor(input, messages);
    const plan = sdkFieldNames(() =>
      planChat({
        info: binding.info,
        params: paramsOf(input, messages),
        dialect: "openai",
        limits,
        reasoning: { effort: reasoning.effort, budgetTokens: reasoning.effort === "high" ? reasoning.budgetTokens : 0 },
        vision,
        noVisionHint: "this gateway prepares no images for functions",
      })
    );
    const run = new ChatRun(plan, {
      binding,
      clientSignal: signal ?? new AbortController().signal,
      deadline: undefined,
      timeoutMs: input.timeoutMs,
      metrics: undefined,
      clock: systemClock,
      startedAt: systemClock.now(),
      route: "function",
    });
    const pending = new Map<number, { id: string; name: string }>();
    const translate = function* (events: ChatEvent[]): Generator<ChatStreamEvent> {
      for (const e of events) {
        if (e.type === "reasoning" || e.type === "content") yield { type: e.type, text: e.text };
        else if (e.type === "tool_call_start") pending.set(e.index, { id: e.id, name: e.name });
        else if (e.type === "tool_call_end") {
          const p = pending.get(e.index)!;
          yield { type: "tool_call", call: { id: p.id, name: p.name, arguments: e.arguments } };
        }
      }
    };
    let aborted = false;
    try {
      for await (const updates of run.updates()) for (const u of updates) yield* translate(u.events);
    } catch (e) {
      if (!(e instanceof ClientGone)) throw e;
      aborted = true; // the caller's signal: what came so far is the answer
    }
    const choice = run.choices[0];
    const finishReason = aborted ? "abort" : choice.finishReason ?? "stop";
    yield { type: "done", finishReason, usage: choice.usage ?? emptyUsage, maxTokensClamped: plan.clamped };
  }

  return {
    info: binding.info,
    binding,
    stream,
    prepareImages,
    async chat(input, signal) {
      const result: ChatResult = {
        content: null,
        reasoning: null,
        toolCalls: [],
        finishReason: "stop",
        usage: emptyUsage,
        maxTokensClamped: null,
      };
      for await (const e of stream(input, signal)) {
        if (e.type === "content") result.content = (result.content ?? "") + e.text;
        else if (e.type === "reasoning") result.reasoning = (result.reasoning ?? "") + e.text;
        else if (e.type === "tool_call") result.toolCalls.push(e.call);
        else {
          result.finishReason = e.finishReason;
          result.usage = e.usage;
          result.maxTokensClamped = e.maxTokensClamped;
        }
      }
      return result;
    },
    async tokenize(input) {
      const maxIds = binding.info.contextLength;
      if ("text" in input) return encodeText(tok, input.text, maxIds);
      const req = { messages: input.messages, tools: input.tools, reasoning_effort: defaults.effort };
      return sdkFieldNames(() => chatErrors(() => encodeChat(tok, req, { maxIds }).ids));
    },
  };
}

/** The model while no runtime is connected: every use fails with a 503 that says why. */
export function unavailableModel(why: string): FunctionModel {
  const fail = (): never => {
    throw new RuntimeError("unavailable", why);
  };
  return {
    get info() {
      return fail();
    },
    get binding() {
      return fail();
    },
    chat: async () => fail(),
    stream: () => fail(),
    prepareImages: async () => fail(),
    tokenize: async () => fail(),
  };
}
