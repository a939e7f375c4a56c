/** Mistral chat completion bodies and stream chunks, in the shapes @mistralai/mistralai parses: reasoning as a
 * `thinking` content chunk whose `thinking` is a list of text chunks (La Plateforme's shape), answer text as a
 * string (or a text chunk beside thinking), whole tool calls with 9-character ids (Mistral streams a call in one
 * piece, not as argument fragments), usage on the last chunk. */
import type { ChoiceState } from "../../chat/choice.ts";
import type { DialectFormat, ResponseMeta } from "./format.ts";
import { randomHex, usageBody, validToolCalls } from "./format.ts";
import type { ChatRun, Update } from "../../chat/run.ts";

const usage = (run: ChatRun) => usageBody(run, { cachedTokens: false });

function finishReason(ch: ChoiceState): "stop" | "length" | "tool_calls" | "error" {
  if (ch.finishReason === "length") return "length";
  if (ch.finishReason === "tool_calls") return "tool_calls";
  // the model tried to call a tool and got the syntax wrong: Mistral's API calls that an error
  return ch.toolCallErrors.length > 0 ? "error" : "stop";
}

const thinking = (text: string) => ({ type: "thinking", thinking: [{ type: "text", text }] });

function toolCall(t: { id: string; name: string; arguments: string }, index: number) {
  return { id: t.id, type: "function", function: { name: t.name, arguments: t.arguments }, index };
}

function message(ch: ChoiceState) {
  const calls = validToolCalls(ch);
  const content = ch.hasReasoning
    ? [thinking(ch.reasoning), ...(ch.content ? [{ type: "text", text: ch.content }] : [])]
    : ch.content;
  return {
    role: "assistant",
    content,
    tool_calls: calls.length ? calls.map((t, i) => toolCall(t, i)) : null,
    prefix: false,
  };
}

function chunk(meta: ResponseMeta, choices: unknown[], extra: Record<string, unknown> = {}) {
  return { id: meta.id, object: "chat.completion.chunk", created: meta.created, model: meta.model, choices, ...extra };
}

export const mistralFormat: DialectFormat = {
  newId: () => randomHex(32),

  completion(run, meta) {
    return {
      id: meta.id,
      object: "chat.completion",
      created: meta.created,
      model: meta.model,
      choices: run.choices.map((ch) => ({ index: ch.index, message: message(ch), finish_reason: finishReason(ch) })),
      usage: usage(run),
    };
  },

  openChunks(run, meta) {
    return run.choices.map((ch) =>
      chunk(meta, [{ index: ch.index, delta: { role: "assistant", content: "" }, finish_reason: null }])
    );
  },

  updateChunks(update: Update, run, meta) {
    const out: unknown[] = [];
    const ch = update.choice;
    const push = (delta: Record<string, unknown>) =>
      out.push(chunk(meta, [{ index: ch.index, delta, finish_reason: null }]));
    for (const e of update.events) {
      if (e.type === "reasoning") push({ content: [thinking(e.text)] });
      else if (e.type === "content") push({ content: e.text });
      else if (e.type === "tool_call_end") {
        const call = ch.toolCalls[e.index];
        push({ tool_calls: [toolCall({ id: call.id, name: call.name, arguments: e.arguments }, e.index)] });
      }
    }
    if (update.finished) {
      // usage rides on the last finish, as Mistral's API sends it
      const last = run.choices.every((c) => c.done);
      out.push(
        chunk(
          meta,
          [{ index: ch.index, delta: { content: "" }, finish_reason: finishReason(ch) }],
          last ? { usage: usage(run) } : {},
        ),
      );
    }
    return out;
  },

  closeChunks() {
    return [];
  },
};
