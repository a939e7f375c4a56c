/** Turn an OpenAI-style or Mistral-style request into the internal message model, checking shapes as it goes.
 * Mirrors mistral-common's `from_openai` conversions (messages.py, chunk.py, tool_calls.py). */
import { ChatRequestError } from "../errors.ts";
import { pyDumps } from "../json/pyjson.ts";
import { decodeImageSource, sniffImageSize } from "./image-size.ts";
import type { Size } from "./image-size.ts";
import { mistralToolCallId, TOOL_CALL_ID_RE } from "./tool-ids.ts";
import type { ChatRequest, Chunk, Content, ImageRef, Message, Tool, ToolCall } from "./types.ts";

export type Dialect = "openai" | "mistral";

export interface InputOptions {
  /** "mistral": tool-call ids must be 9 alphanumerics. "openai" (default): any non-empty id, mapped to 9. */
  dialect?: Dialect;
  /** Size of an image given by URL or base64; default: read from data: URLs / base64 headers. */
  resolveImage?: (source: string, path: string) => Size;
}

const ROLES = ["system", "user", "assistant", "tool"];
const CHUNKS_FOR: Record<string, string[]> = {
  system: ["text"],
  user: ["text", "image_url", "image"],
  assistant: ["text", "thinking"],
  tool: ["text", "image_url", "image"],
};

const isObj = (v: unknown): v is Record<string, any> => typeof v === "object" && v !== null && !Array.isArray(v);

function defaultResolve(source: string, path: string): Size {
  const bytes = decodeImageSource(source);
  if (!bytes) {
    throw new ChatRequestError(
      path,
      "image-source",
      "cannot read this image here: only data: URLs and base64 are sized locally",
      "a data:image/...;base64 URL, base64 image bytes, or an image resolver supplied by the caller",
    );
  }
  const size = sniffImageSize(bytes);
  if (!size || size.width <= 0 || size.height <= 0) {
    throw new ChatRequestError(
      path,
      "image-format",
      "the image bytes are not a PNG, JPEG, GIF, WebP or BMP file with a positive size",
      "PNG, JPEG, GIF, WebP, BMP",
    );
  }
  return size;
}

function readChunks(raw: unknown[], role: string, path: string, opts: InputOptions): Chunk[] {
  const allowed = CHUNKS_FOR[role];
  return raw.map((c, j): Chunk => {
    const p = `${path}[${j}]`;
    if (!isObj(c) || typeof c.type !== "string") {
      throw new ChatRequestError(
        p,
        "content-type",
        "a content chunk must be an object with a string `type`",
        allowed.join(", "),
      );
    }
    const type = c.type === "image_size" ? "image_url" : c.type;
    if (!allowed.includes(type)) {
      throw new ChatRequestError(
        `${p}.type`,
        "content-type",
        `chunk type ${JSON.stringify(c.type)} is not allowed in a ${role} message`,
        allowed.join(", "),
      );
    }
    if (c.type === "text") {
      if (typeof c.text !== "string") {
        throw new ChatRequestError(`${p}.text`, "content-type", "text must be a string", "a string");
      }
      return { type: "text", text: c.text };
    }
    if (c.type === "thinking") {
      let t = c.thinking;
      if (Array.isArray(t)) {
        t = t.map((x, k) => {
          if (!isObj(x) || x.type !== "text" || typeof x.text !== "string") {
            throw new ChatRequestError(
              `${p}.thinking[${k}]`,
              "content-type",
              "thinking parts must be text chunks",
              '{"type": "text", "text": "..."}',
            );
          }
          return x.text;
        }).join("");
      }
      if (typeof t !== "string") {
        throw new ChatRequestError(
          `${p}.thinking`,
          "content-type",
          "thinking must be a string or a list of text chunks",
          "a string",
        );
      }
      if (c.closed !== undefined && typeof c.closed !== "boolean") {
        throw new ChatRequestError(`${p}.closed`, "content-type", "closed must be a boolean", "true, false");
      }
      return { type: "thinking", thinking: t, closed: c.closed ?? true };
    }
    let image: ImageRef;
    if (c.type === "image_size") {
      if (!(Number.isInteger(c.width) && Number.isInteger(c.height) && c.width > 0 && c.height > 0)) {
        throw new ChatRequestError(p, "image-size", "width and height must be positive integers", "positive integers");
      }
      image = { source: null, width: c.width, height: c.height };
    } else {
      const src = c.type === "image" ? c.image : typeof c.image_url === "string" ? c.image_url : c.image_url?.url;
      if (typeof src !== "string") {
        throw new ChatRequestError(
          p,
          "content-type",
          c.type === "image"
            ? "image must be a base64 string"
            : "image_url must be a string or an object with a string url",
          '{"type": "image_url", "image_url": {"url": "data:image/png;base64,..."}}',
        );
      }
      const size = (opts.resolveImage ?? defaultResolve)(src, p);
      image = { source: src, width: size.width, height: size.height };
    }
    return { type: "image", image };
  });
}

function readContent(raw: unknown, role: string, path: string, opts: InputOptions): Content | null {
  if (raw === null || raw === undefined) return null;
  if (typeof raw === "string") return raw;
  if (Array.isArray(raw)) return readChunks(raw, role, path, opts);
  throw new ChatRequestError(
    path,
    "content-type",
    `content must be a string or a list of chunks, got ${raw === null ? "null" : typeof raw}`,
    `a string or a list of ${CHUNKS_FOR[role].join("/")} chunks`,
  );
}

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

export const FUNCTION_NAME_RE = /^[a-zA-Z0-9_-]{1,64}$/;

function checkName(name: unknown, path: string): void {
  if (typeof name !== "string" || !FUNCTION_NAME_RE.test(name)) {
    throw new ChatRequestError(
      path,
      "function-name",
      `function name ${JSON.stringify(name)} is not valid`,
      "1-64 characters from a-z, A-Z, 0-9, _ and - (^[a-zA-Z0-9_-]{1,64}$)",
    );
  }
}

export function readTools(req: ChatRequest): Tool[] | null {
  const raw = req.tools;
  if (raw === undefined || raw === null) return null;
  if (!Array.isArray(raw)) {
    throw new ChatRequestError("tools", "shape", "tools must be a list", "a list of tool objects");
  }
  return raw.map((t, k) => {
    const p = `tools[${k}]`;
    if (!isObj(t) || !isObj(t.function)) {
      throw new ChatRequestError(
        p,
        "tool-shape",
        "a tool must be an object with a `function` object",
        '{"type": "function", "function": {"name": ..., "description": ..., "parameters": {...}}}',
      );
    }
    if (t.type !== undefined && t.type !== "function") {
      throw new ChatRequestError(
        `${p}.type`,
        "tool-shape",
        `tool type ${JSON.stringify(t.type)} is not supported`,
        '"function"',
      );
    }
    const f = t.function;
    checkName(f.name, `${p}.function.name`);
    if (f.description !== undefined && f.description !== null && typeof f.description !== "string") {
      throw new ChatRequestError(`${p}.function.description`, "tool-shape", "description must be a string", "a string");
    }
    if (f.parameters !== undefined && f.parameters !== null && !isObj(f.parameters)) {
      throw new ChatRequestError(
        `${p}.function.parameters`,
        "tool-shape",
        "parameters must be a JSON Schema object",
        "an object",
      );
    }
    return { name: f.name, description: f.description ?? "", parameters: f.parameters ?? {} };
  });
}
