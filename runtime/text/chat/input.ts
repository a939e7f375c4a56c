/** Turn an OpenAI-style or Mistral-style request into the internal message model, checking shapes as it goes.
 * Mirrors mistral-common's `from_openai` conversions (messages.py, chunk.py, tool_calls.py). */
import { ChatRequestError } from "../errors.ts";
import { pyDumps } from "../json/pyjson.ts";
import { readContent } from "./content-input.ts";
import type { Size } from "./image-size.ts";
import { isObj } from "./is-obj.ts";
import { checkName } from "./tools-input.ts";
import { mistralToolCallId, TOOL_CALL_ID_RE } from "./tool-ids.ts";
import type { ChatRequest, Chunk, Message, ToolCall } from "./types.ts";

export type Dialect = "openai" | "mistral";

export interface InputOptions {
  /** "mistral": tool-call ids must be 9 alphanumerics. "openai" (default): any non-empty id, mapped to 9. */
  dialect?: Dialect;
  /** Size of an image given by URL or base64; default: read from data: URLs / base64 headers. */
  resolveImage?: (source: string, path: string) => Size;
}

const ROLES = ["system", "user", "assistant", "tool"];
function readArguments(raw: unknown, path: string): string {
  if (raw === undefined || raw === null) return "{}";
  if (typeof raw === "string") return raw;
  if (isObj(raw)) return pyDumps(raw);
  throw new ChatRequestError(
    path,
    "tool-call-arguments",
    "arguments must be a JSON string or an object",
    "a JSON string or an object",
  );
}

function readId(raw: unknown, path: string, dialect: Dialect): string {
  if (typeof raw !== "string" || raw.length === 0) {
    throw new ChatRequestError(
      path,
      "tool-call-id",
      "a tool call id is required",
      "a non-empty string (9 letters/digits in the Mistral dialect)",
    );
  }
  if (dialect === "mistral") {
    if (!TOOL_CALL_ID_RE.test(raw)) {
      throw new ChatRequestError(
        path,
        "tool-call-id",
        `tool call id ${JSON.stringify(raw)} is not 9 letters/digits`,
        "^[a-zA-Z0-9]{9}$",
      );
    }
    return raw;
  }
  return mistralToolCallId(raw);
}

export function readMessages(req: ChatRequest, opts: InputOptions = {}): Message[] {
  const dialect = opts.dialect ?? "openai";
  if (!isObj(req)) {
    throw new ChatRequestError("request", "shape", "the request must be a JSON object", '{"messages": [...]}');
  }
  if (!Array.isArray(req.messages)) {
    throw new ChatRequestError("messages", "shape", "messages must be a list", "a list of message objects");
  }
  if (req.messages.length === 0) {
    throw new ChatRequestError(
      "messages",
      "messages-empty",
      "the conversation has no messages",
      "at least one user or system message",
    );
  }
  return req.messages.map((m, index): Message => {
    const path = `messages[${index}]`;
    if (!isObj(m)) {
      throw new ChatRequestError(path, "shape", "a message must be an object", '{"role": ..., "content": ...}');
    }
    const role = m.role === "developer" ? "system" : m.role;
    if (!ROLES.includes(role)) {
      throw new ChatRequestError(
        `${path}.role`,
        "role",
        `unknown role ${JSON.stringify(m.role)}`,
        "system, user, assistant, tool (developer = system)",
      );
    }
    const content = readContent(m.content, role, `${path}.content`, opts);
    if (role !== "assistant" && content === null) {
      throw new ChatRequestError(
        `${path}.content`,
        "content-required",
        `a ${role} message needs content`,
        "a string or a list of chunks",
      );
    }
    if (role === "system" || role === "user") return { role, content: content!, index };
    if (role === "tool") {
      const toolCallId = readId(m.tool_call_id, `${path}.tool_call_id`, dialect);
      if (m.name !== undefined && m.name !== null) checkName(m.name, `${path}.name`);
      return { role, content: content!, toolCallId, name: m.name ?? null, index };
    }
    // assistant
    let toolCalls: ToolCall[] | null = null;
    if (m.tool_calls !== undefined && m.tool_calls !== null) {
      if (!Array.isArray(m.tool_calls)) {
        throw new ChatRequestError(`${path}.tool_calls`, "shape", "tool_calls must be a list", "a list of tool calls");
      }
      toolCalls = m.tool_calls.map((tc, k) => {
        const p = `${path}.tool_calls[${k}]`;
        if (!isObj(tc) || !isObj(tc.function)) {
          throw new ChatRequestError(
            p,
            "shape",
            "a tool call must be an object with a `function` object",
            '{"id": ..., "type": "function", "function": {"name": ..., "arguments": ...}}',
          );
        }
        checkName(tc.function.name, `${p}.function.name`);
        return {
          id: readId(tc.id, `${p}.id`, dialect),
          name: tc.function.name,
          arguments: readArguments(tc.function.arguments, `${p}.function.arguments`),
        };
      });
    }
    let chunks = content;
    const rc = m.reasoning_content ?? null;
    const r = m.reasoning ?? null;
    if (rc !== null && r !== null && rc !== r) {
      throw new ChatRequestError(
        `${path}.reasoning`,
        "reasoning",
        "reasoning_content and reasoning differ",
        "one of them, or both equal",
      );
    }
    const thinking = r ?? rc;
    if (thinking !== null) {
      if (typeof thinking !== "string") {
        throw new ChatRequestError(`${path}.reasoning`, "content-type", "reasoning must be a string", "a string");
      }
      if (Array.isArray(chunks) && chunks.some((c) => c.type === "thinking")) {
        throw new ChatRequestError(
          `${path}.reasoning`,
          "reasoning",
          "a message cannot have both thinking chunks and a reasoning field",
          "one of them",
        );
      }
      const think: Chunk = { type: "thinking", thinking, closed: true };
      chunks = typeof chunks === "string"
        ? [think, { type: "text", text: chunks }]
        : chunks === null
        ? [think]
        : [think, ...chunks];
    }
    if (m.prefix !== undefined && typeof m.prefix !== "boolean") {
      throw new ChatRequestError(`${path}.prefix`, "shape", "prefix must be a boolean", "true, false");
    }
    return { role: "assistant", content: chunks, toolCalls, prefix: m.prefix === true, index };
  });
}
