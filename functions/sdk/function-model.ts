// The high-level model binding functions use: chat messages in, parsed answers out (reasoning, content,
// tool calls), over the low-level token-id binding. Encoding and parsing are runtime/text's.
import { type ModelBinding, RuntimeError } from "../../edge/binding/types.ts";
import { type ChatRequest, encodeChat } from "../../runtime/text/index.ts";
import { type ChatEvent, ChoiceState } from "../builtin/chat/choice.ts";
import { toolCallConstraint, ToolChoiceError } from "../builtin/chat/constraint-params.ts";
import type { ChatInput, ChatResult, ChatStreamEvent, FunctionModel, ReasoningSetting, Usage } from "./types.ts";

const emptyUsage: Usage = {
  prompt_tokens: 0,
  completion_tokens: 0,
  total_tokens: 0,
  reasoning_tokens: 0,
  budget_exhausted: false,
  cached_tokens: 0,
  preemptions: 0,
};

export function createFunctionModel(binding: ModelBinding, defaults: ReasoningSetting): FunctionModel {
  const tok = binding.info.tokenizer;

  function promptOf(input: ChatInput, reasoning: ReasoningSetting): number[] {
    const req: ChatRequest = {
      messages: input.messages,
      tools: input.tools,
      reasoning_effort: reasoning.effort,
      continue_final_message: input.continue_final_message,
    };
    return encodeChat(tok, req).ids;
  }

  async function* stream(input: ChatInput, signal?: AbortSignal): AsyncIterable<ChatStreamEvent> {
    const reasoning = { ...defaults, ...input.reasoning };
    const promptIds = promptOf(input, reasoning);
    // maxTokens is an upper bound: a function written for a long context still runs on a short one
    const room = binding.info.contextLength - promptIds.length;
    const maxTokens = input.maxTokens === undefined ? undefined : Math.max(1, Math.min(input.maxTokens, room));
    // the same per-choice state the built-in chat routes use: parsing, tool-call folding, finish reason
    const choice = new ChoiceState(0, tok, { stop: [], stopTokenIds: new Set(), logprobs: false });
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
    for await (
      const event of binding.generate({
        promptIds,
        maxTokens,
        stopIds: input.stopTokenIds,
        signal,
        timeoutMs: input.timeoutMs,
        reasoningBudget: reasoning.effort === "high" ? reasoning.budgetTokens : 0,
        sampling: { temperature: input.temperature ?? 0, topP: input.topP, seed: input.seed },
        ...(input.responseFormat === "json_object"
          ? { responseFormat: { type: "json_object" as const } }
          : typeof input.responseFormat === "object"
          ? { responseFormat: input.responseFormat }
          : {}),
        ...requiredCalls(input),
      })
    ) yield* translate(choice.apply(event));
    yield* translate(choice.abandon("abort")); // no-op when the runtime finished the choice
    yield { type: "done", finishReason: choice.finishReason ?? "stop", usage: choice.usage ?? emptyUsage };
  }

  return {
    info: binding.info,
    binding,
    stream,
    async chat(input, signal) {
      const result: ChatResult = {
        content: null,
        reasoning: null,
        toolCalls: [],
        finishReason: "stop",
        usage: emptyUsage,
      };
      for await (const e of stream(input, signal)) {
        if (e.type === "content") result.content = (result.content ?? "") + e.text;
        else if (e.type === "reasoning") result.reasoning = (result.reasoning ?? "") + e.text;
        else if (e.type === "tool_call") result.toolCalls.push(e.call);
        else {
          result.finishReason = e.finishReason;
          result.usage = e.usage;
        }
      }
      return result;
    },
    tokenize(input) {
      if ("text" in input) return tok.encode(input.text);
      return encodeChat(tok, { messages: input.messages, tools: input.tools, reasoning_effort: defaults.effort }).ids;
    },
  };
}

/** The runtime's tool-call constraint for toolChoice "required" or a named tool. */
function requiredCalls(input: ChatInput): { toolCalls?: NonNullable<ReturnType<typeof toolCallConstraint>> } {
  try {
    const toolCalls = toolCallConstraint(input.tools, input.toolChoice ?? "auto", true);
    return toolCalls ? { toolCalls } : {};
  } catch (e) {
    if (e instanceof ToolChoiceError) throw new TypeError(`toolChoice: ${e.message}`);
    throw e;
  }
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
    tokenize: () => fail(),
  };
}
