/** What `gust run` needs from the text layer: prompt ids from --prompt / --messages / --ids, and the
 * `text`, `reasoning`, `tool_calls` fields of its JSON from the generated ids. */
import { encodeChat, encodeChatJson } from "../text/chat/encode.ts";
import type { EncodedChat, EncodeOptions } from "../text/chat/encode.ts";
import type { ChatRequest } from "../text/chat/types.ts";
import { ChatRequestError } from "../text/errors.ts";
import { pyLoads } from "../text/json/pyjson.ts";
import { parseOutput } from "../text/parse/output.ts";
import type { ParsedOutput } from "../text/parse/output.ts";
import type { ParserOptions } from "../text/parse/stream.ts";
import type { Tokenizer } from "../text/tokenizer.ts";

export interface PromptSource {
  /** One user message. */
  prompt?: string;
  /** An OpenAI-style request body (JSON text): messages, tools, reasoning_effort. */
  messagesJson?: string;
  /** Overrides the request's reasoning_effort (none|high). */
  reasoningEffort?: string;
}

/** Prompt ids for `gust run --prompt` / `--messages` (chat-encoded, instruct v15). */
export function buildPrompt(tok: Tokenizer, src: PromptSource, opts: EncodeOptions = {}): EncodedChat {
  if ((src.prompt === undefined) === (src.messagesJson === undefined)) {
    throw new ChatRequestError(
      "request",
      "shape",
      "give exactly one of a prompt and a messages file",
      "--prompt TEXT or --messages FILE",
    );
  }
  if (src.prompt !== undefined) {
    return encodeChat(tok, {
      messages: [{ role: "user", content: src.prompt }],
      reasoning_effort: src.reasoningEffort ?? null,
    }, opts);
  }
  if (src.reasoningEffort === undefined) return encodeChatJson(tok, src.messagesJson!, opts);
  let req: unknown;
  try {
    req = pyLoads(src.messagesJson!); // keeps Python number spelling and key order
  } catch (e) {
    throw new ChatRequestError(
      "request",
      "json",
      `the request is not valid JSON: ${(e as Error).message}`,
      "a JSON object",
    );
  }
  if (typeof req !== "object" || req === null || Array.isArray(req)) {
    throw new ChatRequestError("request", "shape", "the request must be a JSON object", '{"messages": [...]}');
  }
  return encodeChat(tok, { ...(req as ChatRequest), reasoning_effort: src.reasoningEffort }, opts);
}

export interface RunTextFields {
  text: string | null;
  reasoning: string | null;
  tool_calls: Array<{ id: string; type: "function"; function: { name: string; arguments: string } }>;
  tool_call_errors: ParsedOutput["errors"];
}

/** The `text`, `reasoning`, `tool_calls` fields of `gust run --json` for the generated ids (prompt excluded). */
export function runTextFields(tok: Tokenizer, generated: ArrayLike<number>, opts: ParserOptions = {}): RunTextFields {
  const p = parseOutput(tok, generated, opts);
  return {
    text: p.content,
    reasoning: p.reasoning,
    tool_calls: p.toolCalls.map((c) => ({
      id: c.id,
      type: "function",
      function: { name: c.name, arguments: c.arguments },
    })),
    tool_call_errors: p.errors,
  };
}
