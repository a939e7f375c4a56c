/** The Messages API's answer, folded from the chat core's events: one `message` body, or the event stream
 * `message_start` → `ping` → per block `content_block_start` / `content_block_delta` (`thinking_delta`,
 * `text_delta`, `input_json_delta`) / `content_block_stop` → `message_delta` (stop_reason, output usage) →
 * `message_stop`, each with an SSE `event:` line of its type. Blocks in the order written: thinking, text, tool_use.
 * stop_reason: tool_use when the answer is calls, max_tokens when cut by the limit, stop_sequence when one of
 * `stop_sequences` ended it, end_turn otherwise. Errors, before the stream and within it, in Anthropic's shape. */
import type { HttpError } from "../../http/errors.ts";
import type { ChatEvent, ChoiceState } from "../../chat/choice.ts";
import type { ChatRun } from "../../chat/run.ts";
import type { DialectFormat, ResponseMeta } from "../chat/format.ts";
import { randomHex, validToolCalls } from "../chat/format.ts";
import type { Json } from "../dialect-fields.ts";

export const newToolUseId = () => `toolu_${randomHex(24)}`;

/** Anthropic's error types by HTTP status. */
export function anthropicErrorType(status: number): string {
  if (status === 401) return "authentication_error";
  if (status === 403) return "permission_error";
  if (status === 404) return "not_found_error";
  if (status === 413) return "request_too_large";
  if (status === 429) return "rate_limit_error";
  if (status === 503 || status === 529) return "overloaded_error";
  if (status >= 500) return "api_error";
  return "invalid_request_error";
}

export function anthropicErrorBody(status: number, message: string, requestId?: string): Json {
  return {
    type: "error",
    error: { type: anthropicErrorType(status), message },
    ...(requestId ? { request_id: requestId } : {}),
  };
}

type Block =
  | { type: "thinking"; thinking: string; signature: string }
  | { type: "text"; text: string }
  | { type: "tool_use"; id: string; name: string; input: unknown };

function stopReason(ch: ChoiceState): string {
  if (ch.finishReason === "tool_calls") return "tool_use";
  if (ch.finishReason === "length") return "max_tokens";
  return ch.stoppedBySequence ? "stop_sequence" : "end_turn";
}

function usage(run: ChatRun) {
  const u = run.usage();
  return {
    input_tokens: u.promptTokens - u.cachedTokens,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: u.cachedTokens,
    output_tokens: u.completionTokens,
  };
}

export function messagesFormat(): DialectFormat {
  let open: { index: number; type: Block["type"] } | null = null;
  let count = 0;
  const close = (out: Json[]) => {
    if (open) out.push({ type: "content_block_stop", index: open.index });
    open = null;
  };
  const start = (block: Block, out: Json[]) => {
    close(out);
    open = { index: count++, type: block.type };
    out.push({ type: "content_block_start", index: open.index, content_block: block });
    return open.index;
  };
  const delta = (type: "thinking" | "text", d: Json, out: Json[]) => {
    const index = open?.type === type
      ? open.index
      : start(type === "thinking" ? { type, thinking: "", signature: "" } : { type, text: "" }, out);
    out.push({ type: "content_block_delta", index, delta: d });
  };
  const apply = (e: ChatEvent, out: Json[]) => {
    if (e.type === "reasoning") delta("thinking", { type: "thinking_delta", thinking: e.text }, out);
    else if (e.type === "content") delta("text", { type: "text_delta", text: e.text }, out);
    else if (e.type === "tool_call_start") start({ type: "tool_use", id: e.id, name: e.name, input: {} }, out);
    else if (e.type === "tool_call_args" && open?.type === "tool_use") {
      out.push({
        type: "content_block_delta",
        index: open.index,
        delta: { type: "input_json_delta", partial_json: e.text },
      });
    } else if (e.type === "tool_call_end") close(out);
  };
  const message = (run: ChatRun, meta: ResponseMeta, content: Block[], done: boolean) => ({
    id: meta.id,
    type: "message",
    role: "assistant",
    model: meta.model,
    content,
    stop_reason: done ? stopReason(run.choices[0]) : null,
    stop_sequence: done ? run.choices[0].matchedStop ?? null : null,
    usage: done ? usage(run) : { ...usage(run), output_tokens: 0 },
  });
  return {
    newId: () => `msg_${randomHex(24)}`,
    completion(run, meta) {
      const ch = run.choices[0];
      const content: Block[] = [];
      if (ch.reasoning) content.push({ type: "thinking", thinking: ch.reasoning, signature: "" });
      if (ch.content) content.push({ type: "text", text: ch.content });
      for (const t of validToolCalls(ch)) {
        content.push({ type: "tool_use", id: t.id, name: t.name, input: JSON.parse(t.arguments) });
      }
      if (content.length === 0) content.push({ type: "text", text: "" });
      return message(run, meta, content, true);
    },
    openChunks(run, meta) {
      return [{ type: "message_start", message: message(run, meta, [], false) }, { type: "ping" }];
    },
    updateChunks(update) {
      const out: Json[] = [];
      for (const e of update.events) apply(e, out);
      return out;
    },
    closeChunks(run) {
      const out: Json[] = [];
      close(out);
      const ch = run.choices[0];
      out.push({
        type: "message_delta",
        delta: { stop_reason: stopReason(ch), stop_sequence: ch.matchedStop ?? null },
        usage: { output_tokens: run.usage().completionTokens },
      });
      out.push({ type: "message_stop" });
      return out;
    },
    sse: {
      event: (chunk) => (chunk as Json).type as string,
      done: false,
      error: (e: HttpError) => anthropicErrorBody(e.status, e.message),
      // Anthropic's API pings in silences; Claude Code's stream watchdog counts events, not bytes
      keepAlive: () => ({ type: "ping" }),
    },
  };
}
