import { describe, expect, it } from "vitest";
import { encodeChat } from "../../runtime/text/chat/encode.ts";
import { mistralToolCallId } from "../../runtime/text/chat/tool-ids.ts";
import { ChatRequestError } from "../../runtime/text/errors.ts";
import { fixtureTekken } from "./helpers.ts";

const u = (content: unknown = "hi") => ({ role: "user", content });
const a = (content: unknown, extra: object = {}) => ({ role: "assistant", content, ...extra });
const call = (id: string, name = "f") => ({ id, type: "function", function: { name, arguments: "{}" } });
const t = (id: string, content = "r") => ({ role: "tool", tool_call_id: id, content });

// [name, request, path, rule, message fragment]
const TABLE: Array<[string, any, string, string, RegExp]> = [
  ["empty messages", { messages: [] }, "messages", "messages-empty", /no messages/],
  ["messages not a list", { messages: "hi" }, "messages", "shape", /must be a list/],
  [
    "unknown role",
    { messages: [{ role: "robot", content: "x" }] },
    "messages[0].role",
    "role",
    /unknown role "robot".*allowed: system, user, assistant, tool/,
  ],
  [
    "tool after user (wrong role order)",
    { messages: [u(), t("aaaaaaaaa")] },
    "messages[1].role",
    "role-order",
    /role tool cannot follow role user.*after user: assistant, system, user/,
  ],
  [
    "system after assistant",
    { messages: [u(), a("x"), { role: "system", content: "s" }, u()] },
    "messages[2].role",
    "role-order",
    /role system cannot follow role assistant/,
  ],
  [
    "single assistant message",
    { messages: [a("x")] },
    "messages[0].role",
    "first-message",
    /cannot be a assistant message.*allowed: user, system/,
  ],
  [
    "ends with a closed assistant message",
    { messages: [u(), a("x")] },
    "messages[1].role",
    "last-message",
    /nothing to generate/,
  ],
  [
    "prefix not on the last message",
    { messages: [u(), a("x", { prefix: true }), u()] },
    "messages[1].prefix",
    "prefix-not-last",
    /only the last message/,
  ],
  [
    "tool message without a matching call",
    { messages: [u(), a(null, { tool_calls: [call("aaaaaaaaa")] }), t("bbbbbbbbb")] },
    "messages[2].tool_call_id",
    "tool-result-unknown-call",
    /no preceding assistant message made a tool call with id bbbbbbbbb.*allowed: aaaaaaaaa/,
  ],
  [
    "tool message first",
    { messages: [t("aaaaaaaaa"), u()] },
    "messages[0]",
    "tool-result-unknown-call",
    /must answer a tool call/,
  ],
  [
    "answered twice",
    {
      messages: [u(), a(null, { tool_calls: [call("aaaaaaaaa"), call("bbbbbbbbb")] }), t("aaaaaaaaa"), t("aaaaaaaaa")],
    },
    "messages[3].tool_call_id",
    "tool-result-duplicate",
    /answered twice/,
  ],
  [
    "call left unanswered before the next assistant turn",
    { messages: [u(), a(null, { tool_calls: [call("aaaaaaaaa"), call("bbbbbbbbb")] }), t("aaaaaaaaa"), a("x"), u()] },
    "messages[3]",
    "tool-results-missing",
    /bbbbbbbbb of messages\[1\] has no tool result/,
  ],
  [
    "call left unanswered at the end",
    { messages: [u(), a(null, { tool_calls: [call("aaaaaaaaa"), call("bbbbbbbbb")] }), t("bbbbbbbbb")] },
    "messages[2]",
    "tool-results-missing",
    /aaaaaaaaa of messages\[1\]/,
  ],
  [
    "duplicate call ids",
    { messages: [u(), a(null, { tool_calls: [call("aaaaaaaaa"), call("aaaaaaaaa")] }), t("aaaaaaaaa")] },
    "messages[1].tool_calls[1].id",
    "tool-call-id-duplicate",
    /used twice/,
  ],
  [
    "missing call id",
    { messages: [u(), a(null, { tool_calls: [{ function: { name: "f" } }] }), t("aaaaaaaaa")] },
    "messages[1].tool_calls[0].id",
    "tool-call-id",
    /required/,
  ],
  [
    "bad function name in a call",
    { messages: [u(), a(null, { tool_calls: [call("aaaaaaaaa", "get weather")] }), t("aaaaaaaaa")] },
    "messages[1].tool_calls[0].function.name",
    "function-name",
    /"get weather" is not valid.*\^\[a-zA-Z0-9_-\]\{1,64\}\$/,
  ],
  [
    "bad tool name",
    { messages: [u()], tools: [{ type: "function", function: { name: "x".repeat(65) } }] },
    "tools[0].function.name",
    "function-name",
    /not valid/,
  ],
  [
    "tool parameters not an object",
    { messages: [u()], tools: [{ type: "function", function: { name: "f", parameters: [1] } }] },
    "tools[0].function.parameters",
    "tool-shape",
    /JSON Schema object/,
  ],
  [
    "invalid reasoning effort",
    { messages: [u()], reasoning_effort: "medium" },
    "reasoning_effort",
    "reasoning-effort",
    /unknown reasoning_effort "medium".*allowed: none, high/,
  ],
  [
    "reasoning effort not a string",
    { messages: [u()], reasoning_effort: 3 },
    "reasoning_effort",
    "reasoning-effort",
    /must be a string/,
  ],
  [
    "non-string content where text is required",
    { messages: [u(42)] },
    "messages[0].content",
    "content-type",
    /content must be a string or a list of chunks, got number/,
  ],
  [
    "text chunk with a non-string text",
    { messages: [u([{ type: "text", text: 5 }])] },
    "messages[0].content[0].text",
    "content-type",
    /text must be a string/,
  ],
  [
    "image in a system message",
    { messages: [{ role: "system", content: [{ type: "image_url", image_url: "data:image/png;base64,AAAA" }] }, u()] },
    "messages[0].content[0].type",
    "content-type",
    /"image_url" is not allowed in a system message.*allowed: text/,
  ],
  [
    "thinking in a user message",
    { messages: [u([{ type: "thinking", thinking: "x" }])] },
    "messages[0].content[0].type",
    "content-type",
    /not allowed in a user message/,
  ],
  [
    "user message without content",
    { messages: [{ role: "user" }] },
    "messages[0].content",
    "content-required",
    /needs content/,
  ],
  [
    "empty assistant message",
    { messages: [u(), a(""), u()] },
    "messages[1]",
    "assistant-empty",
    /needs content or tool_calls/,
  ],
  [
    "http image without a resolver",
    { messages: [u([{ type: "image_url", image_url: "https://example.com/a.png" }])] },
    "messages[0].content[0]",
    "image-source",
    /only data: URLs and base64/,
  ],
  [
    "reasoning and thinking chunks together",
    { messages: [u(), a([{ type: "thinking", thinking: "x" }], { reasoning: "y" }), u()] },
    "messages[1].reasoning",
    "reasoning",
    /both thinking chunks and a reasoning field/,
  ],
  [
    "continue_final_message without a final assistant",
    { messages: [u()], continue_final_message: true },
    "messages[0]",
    "last-message",
    /continue_final_message needs a final assistant/,
  ],
];

describe("bad chat requests give errors naming the place and the rule", () => {
  const tok = fixtureTekken();
  for (const [name, req, path, rule, msg] of TABLE) {
    it(name, () => {
      let err: unknown;
      try {
        encodeChat(tok, req);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ChatRequestError);
      const e = err as ChatRequestError;
      expect(e.path).toBe(path);
      expect(e.rule).toBe(rule);
      expect(e.message).toMatch(msg);
      expect(e.message.startsWith(path + ":")).toBe(true);
      if (path.startsWith("messages[")) expect(e.index).toBe(Number(/\[(\d+)\]/.exec(path)![1]));
    });
  }

  it("the Mistral dialect requires 9-character alphanumeric ids", () => {
    const req = { messages: [u(), a(null, { tool_calls: [call("call_123")] }), t("call_123")] };
    expect(() => encodeChat(tok, req as any, { dialect: "mistral" })).toThrow(
      /messages\[1\]\.tool_calls\[0\]\.id: tool call id "call_123" is not 9 letters\/digits.*\^\[a-zA-Z0-9\]\{9\}\$/,
    );
    expect(() => encodeChat(tok, req as any)).not.toThrow();
  });

  it("maps other ids to stable 9-character ids", () => {
    expect(mistralToolCallId("abcdefghi")).toBe("abcdefghi");
    const m = mistralToolCallId("call_8f7a6b5c4d");
    expect(m).toMatch(/^[a-zA-Z0-9]{9}$/);
    expect(mistralToolCallId("call_8f7a6b5c4d")).toBe(m);
    expect(mistralToolCallId("call_8f7a6b5c4e")).not.toBe(m);
  });

  it("a tokenizer without reasoning settings rejects reasoning_effort", () => {
    const tk = Object.create(tok, { modelSettings: { value: {} } });
    expect(() => encodeChat(tk, { messages: [{ role: "user", content: "x" }], reasoning_effort: "high" })).toThrow(
      /reasoning_effort: reasoning_effort is not supported by this model's tokenizer/,
    );
    expect(tok.decode(encodeChat(tk, { messages: [{ role: "user", content: "x" }] }).ids, "show")).toBe(
      "<s>[INST]x[/INST]",
    );
  });
});
