/** mistral-common's request validator for v15 in serving mode (validator.py, MistralRequestValidatorV15),
 * with errors that name the message index, the rule and what is allowed. */
import { ChatRequestError } from "../errors.ts";
import type { ModelSettingsSpec } from "../tokenizer.ts";
import type { Message } from "./types.ts";

const NEXT_ROLES: Record<string, string[]> = {
  system: ["user", "assistant", "system"],
  user: ["assistant", "system", "user"],
  assistant: ["assistant", "user", "tool"],
  tool: ["assistant", "tool", "user"],
};

export function validateMessages(messages: Message[], continueFinal: boolean): void {
  const n = messages.length;
  if (n === 0) {
    throw new ChatRequestError(
      "messages",
      "messages-empty",
      "the conversation has no messages",
      "at least one user or system message",
    );
  }
  if (n === 1 && messages[0].role !== "user" && messages[0].role !== "system") {
    throw new ChatRequestError(
      "messages[0].role",
      "first-message",
      `a conversation of one message cannot be a ${messages[0].role} message`,
      "user, system",
    );
  }
  const last = messages[n - 1];
  if (n > 1 || continueFinal) {
    if (continueFinal) {
      if (last.role !== "assistant" || last.prefix) {
        throw new ChatRequestError(
          `messages[${n - 1}]`,
          "last-message",
          "continue_final_message needs a final assistant message without prefix",
          "an assistant message with prefix false",
        );
      }
    } else if (last.role === "assistant" && !last.prefix) {
      throw new ChatRequestError(
        `messages[${n - 1}].role`,
        "last-message",
        "the last message is an assistant message without prefix, so there is nothing to generate",
        "user, tool, or assistant with prefix: true (or continue_final_message: true)",
      );
    }
  }
  for (let i = 1; i < n; i++) {
    const prev = messages[i - 1].role;
    const cur = messages[i].role;
    if (!NEXT_ROLES[prev].includes(cur)) {
      throw new ChatRequestError(
        `messages[${i}].role`,
        "role-order",
        `role ${cur} cannot follow role ${prev}`,
        `after ${prev}: ${NEXT_ROLES[prev].join(", ")}`,
      );
    }
  }
  if (messages[0].role === "tool") {
    throw new ChatRequestError(
      "messages[0]",
      "tool-result-unknown-call",
      "a tool message must answer a tool call of an earlier assistant message",
      "tool messages after an assistant message with tool_calls",
    );
  }
  // tool calls and their results (MistralRequestValidatorV13._validate_tool_calls_followed_by_tool_messages)
  let expected = new Map<string, number>(); // id -> index of the assistant message that made the call
  let observed = new Set<string>();
  let callerIndex = -1;
  const missing = (at: string) => {
    const ids = [...expected.keys()].filter((id) => !observed.has(id));
    throw new ChatRequestError(
      at,
      "tool-results-missing",
      `tool call${ids.length > 1 ? "s" : ""} ${ids.join(", ")} of messages[${callerIndex}] ${
        ids.length > 1 ? "have" : "has"
      } no tool result`,
      "one tool message per tool call, before the next assistant message",
    );
  };
  for (let i = 0; i < n; i++) {
    const m = messages[i];
    if (m.role === "tool") {
      if (observed.has(m.toolCallId)) {
        throw new ChatRequestError(
          `messages[${i}].tool_call_id`,
          "tool-result-duplicate",
          `tool call ${m.toolCallId} is answered twice`,
          "one tool message per tool call",
        );
      }
      if (!expected.has(m.toolCallId)) {
        const known = [...expected.keys()];
        throw new ChatRequestError(
          `messages[${i}].tool_call_id`,
          "tool-result-unknown-call",
          `no preceding assistant message made a tool call with id ${m.toolCallId}`,
          known.length ? known.join(", ") : "no open tool calls here",
        );
      }
      observed.add(m.toolCallId);
    } else if (m.role === "assistant") {
      if (expected.size !== observed.size) missing(`messages[${i}]`);
      expected = new Map();
      observed = new Set();
      callerIndex = i;
      for (const [k, tc] of (m.toolCalls ?? []).entries()) {
        if (expected.has(tc.id)) {
          throw new ChatRequestError(
            `messages[${i}].tool_calls[${k}].id`,
            "tool-call-id-duplicate",
            `tool call id ${tc.id} is used twice in one message`,
            "distinct ids per assistant message",
          );
        }
        expected.set(tc.id, i);
      }
      if (m.prefix && i !== n - 1) {
        throw new ChatRequestError(
          `messages[${i}].prefix`,
          "prefix-not-last",
          "only the last message can be an assistant prefix",
          "prefix: true on the last message only",
        );
      }
    }
  }
  if (expected.size !== observed.size) missing(`messages[${n - 1}]`);
}

/** mistral-common ModelSettingsBuilder.build_settings for v15: the resolved reasoning_effort, or null. */
export function buildSettings(spec: ModelSettingsSpec | null, reasoningEffort: unknown): { reasoning_effort?: string } {
  const value = reasoningEffort ?? null;
  const b = spec?.reasoningEffort;
  if (!b) {
    if (value !== null) {
      throw new ChatRequestError(
        "reasoning_effort",
        "reasoning-effort",
        "reasoning_effort is not supported by this model's tokenizer",
        "leave it out",
      );
    }
    return {};
  }
  if (value !== null && typeof value !== "string") {
    throw new ChatRequestError(
      "reasoning_effort",
      "reasoning-effort",
      "reasoning_effort must be a string",
      b.values.join(", "),
    );
  }
  const built = value ?? b.default;
  if (built === null) {
    if (!b.acceptsNone) {
      throw new ChatRequestError(
        "reasoning_effort",
        "reasoning-effort",
        "reasoning_effort must be set for this model",
        b.values.join(", "),
      );
    }
    return {};
  }
  if (b.values.length === 0) {
    throw new ChatRequestError(
      "reasoning_effort",
      "reasoning-effort",
      "reasoning_effort is not supported for this model",
      "leave it out",
    );
  }
  if (!b.values.includes(built)) {
    throw new ChatRequestError(
      "reasoning_effort",
      "reasoning-effort",
      `unknown reasoning_effort ${JSON.stringify(built)}`,
      b.values.join(", "),
    );
  }
  return { reasoning_effort: built };
}
