/** OpenAI chat completion bodies and stream chunks. Reasoning goes out twice, as `reasoning` (vLLM's current name)
 * and `reasoning_content` (older clients and the Vercel AI SDK read that one); usage adds
 * `completion_tokens_details.reasoning_tokens`, and gust's `reasoning_budget_exhausted` beside it. Malformed tool
 * calls are listed in a `tool_call_errors` extension instead of being passed off as text or calls. Log-probs cover
 * every generated token (reasoning and control tokens included, controls by name with empty `bytes`), as vLLM's do. */
import type { ChoiceState } from "../../chat/choice.ts";
import type { DialectFormat, ResponseMeta } from "./format.ts";
import { randomHex, usageBody, validToolCalls } from "./format.ts";
import type { ChatRun, Update } from "../../chat/run.ts";

const usage = (run: ChatRun) => usageBody(run, { cachedTokens: true });

function finishReason(ch: ChoiceState): "stop" | "length" | "tool_calls" {
  // "abort" never reaches a body: aborted runs answer with an error instead
  return ch.finishReason === "length" ? "length" : ch.finishReason === "tool_calls" ? "tool_calls" : "stop";
}

function message(ch: ChoiceState, includeReasoning: boolean) {
  const calls = validToolCalls(ch);
  const reasoning = includeReasoning && ch.hasReasoning ? ch.reasoning : null;
  const msg: Record<string, unknown> = {
    role: "assistant",
    content: ch.content === "" && calls.length > 0 ? null : ch.content,
    refusal: null,
    reasoning,
    reasoning_content: reasoning,
  };
  if (calls.length > 0) {
    msg.tool_calls = calls.map((t) => ({
      id: t.id,
      type: "function",
      function: { name: t.name, arguments: t.arguments },
    }));
  }
  if (ch.toolCallErrors.length > 0) msg.tool_call_errors = ch.toolCallErrors;
  return msg;
}

function chunk(meta: ResponseMeta, run: ChatRun, choices: unknown[], extra: Record<string, unknown> = {}) {
  const c: Record<string, unknown> = {
    id: meta.id,
    object: "chat.completion.chunk",
    created: meta.created,
    model: meta.model,
    system_fingerprint: null,
    choices,
    ...extra,
  };
  if (run.plan.params.includeUsage && !("usage" in extra)) c.usage = null;
  return c;
}

export const openAIFormat: DialectFormat = {
  newId: () => `chatcmpl-${randomHex(24)}`,

  completion(run, meta) {
    const include = run.plan.params.includeReasoning;
    return {
      id: meta.id,
      object: "chat.completion",
      created: meta.created,
      model: meta.model,
      system_fingerprint: null,
      choices: run.choices.map((ch) => ({
        index: ch.index,
        message: message(ch, include),
        logprobs: run.plan.params.logprobs ? { content: ch.logprobs, refusal: null } : null,
        finish_reason: finishReason(ch),
      })),
      usage: usage(run),
    };
  },

  openChunks(run, meta) {
    return run.choices.map((ch) =>
      chunk(meta, run, [{
        index: ch.index,
        delta: { role: "assistant", content: "" },
        logprobs: null,
        finish_reason: null,
      }])
    );
  },

  updateChunks(update: Update, run, meta) {
    const out: unknown[] = [];
    const index = update.choice.index;
    const include = run.plan.params.includeReasoning;
    let pendingLogprobs: unknown[] | null = null;
    const push = (delta: Record<string, unknown>) => {
      out.push(
        chunk(meta, run, [{
          index,
          delta,
          logprobs: pendingLogprobs ? { content: pendingLogprobs, refusal: null } : null,
          finish_reason: null,
        }]),
      );
      pendingLogprobs = null;
    };
    for (const e of update.events) {
      switch (e.type) {
        case "logprobs":
          pendingLogprobs = [...(pendingLogprobs ?? []), ...e.tokens];
          break;
        case "reasoning":
          if (include) push({ reasoning: e.text, reasoning_content: e.text });
          break;
        case "content":
          push({ content: e.text });
          break;
        case "tool_call_start":
          push({
            tool_calls: [{ index: e.index, id: e.id, type: "function", function: { name: e.name, arguments: "" } }],
          });
          break;
        case "tool_call_args":
          push({ tool_calls: [{ index: e.index, function: { arguments: e.text } }] });
          break;
        case "tool_call_error":
          push({ tool_call_errors: [{ code: e.code, message: e.message, index: e.index, text: e.text }] });
          break;
        case "tool_call_end":
          break; // the arguments already went out as fragments
      }
    }
    if (pendingLogprobs) push({});
    if (update.finished) {
      out.push(chunk(meta, run, [{ index, delta: {}, logprobs: null, finish_reason: finishReason(update.choice) }]));
    }
    return out;
  },

  closeChunks(run, meta) {
    return run.plan.params.includeUsage ? [chunk(meta, run, [], { usage: usage(run) })] : [];
  },
};
