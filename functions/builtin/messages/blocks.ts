/** Anthropic Messages `system` + `messages` → the chat core's messages:
 *   text                          → text (cache_control accepted and ignored everywhere)
 *   image (base64 or url source)  → an image part, prepared by the vision middleware like any other
 *   thinking                      → the assistant turn's reasoning (redacted_thinking is dropped: nothing to read)
 *   tool_use                      → a tool call of the assistant turn (its `input` as JSON arguments)
 *   tool_result                   → a tool message answering that tool_use_id; it must answer a tool_use of the
 *                                   assistant turn just before (else 400 naming the field)
 * A user turn's tool results go first (as the API requires), its other blocks follow as a user message. A `system`
 * turn inside `messages` (Claude Code sends its environment so) becomes a system message there.
 * `paths[k]` says which `messages[i]` message k came from. */
import type { InputChunk, InputMessage } from "../../../runtime/text/chat/types.ts";
import { bad, type Json, list, object, str } from "../dialect-fields.ts";

export interface ConvertedMessages {
  messages: InputMessage[];
  paths: string[];
}

const USER_BLOCKS = "text, image, tool_result";
const ASSISTANT_BLOCKS = "text, thinking, redacted_thinking, tool_use";

function image(b: Json, at: string): InputChunk {
  const source = object(b.source, `${at}.source`);
  if (source.type === "base64") {
    const mediaType = str(source.media_type, `${at}.source.media_type`);
    return {
      type: "image_url",
      image_url: { url: `data:${mediaType};base64,${str(source.data, `${at}.source.data`)}` },
    };
  }
  if (source.type === "url") return { type: "image_url", image_url: { url: str(source.url, `${at}.source.url`) } };
  throw bad(`${at}.source.type`, `${JSON.stringify(source.type)} is not an image source here; allowed: base64, url`);
}

function textOrImages(content: unknown, at: string): string | InputChunk[] {
  if (typeof content === "string") return content;
  return list(content, at).map((raw, k) => {
    const b = object(raw, `${at}[${k}]`);
    if (b.type === "text") return { type: "text", text: str(b.text, `${at}[${k}].text`) };
    if (b.type === "image") return image(b, `${at}[${k}]`);
    throw bad(`${at}[${k}].type`, `unknown block ${JSON.stringify(b.type)} in a tool result; allowed: text, image`);
  });
}

export function convertMessages(system: unknown, raw: unknown): ConvertedMessages {
  const messages: InputMessage[] = [];
  const paths: string[] = [];
  if (system !== undefined && system !== null) {
    const text = typeof system === "string" ? system : list(system, "system").map((b, k) => {
      const block = object(b, `system[${k}]`);
      if (block.type !== "text") {
        throw bad(`system[${k}].type`, `system blocks must be text, got ${JSON.stringify(block.type)}`);
      }
      return str(block.text, `system[${k}].text`);
    }).join("\n");
    if (text) {
      messages.push({ role: "system", content: text });
      paths.push("system");
    }
  }
  const turns = list(raw, "messages");
  if (turns.length === 0) throw bad("messages", "the conversation has no messages; send at least one user message");
  /** tool_use ids of the assistant turn just before, not answered yet. */
  let open = new Set<string>();
  turns.forEach((t, i) => {
    const at = `messages[${i}]`;
    const turn = object(t, at);
    const role = turn.role;
    if (role !== "user" && role !== "assistant" && role !== "system") {
      throw bad(`${at}.role`, `unknown role ${JSON.stringify(role)}; allowed: user, assistant, system`);
    }
    const blocks: Json[] = typeof turn.content === "string"
      ? [{ type: "text", text: turn.content }]
      : list(turn.content, `${at}.content`).map((b, j) => object(b, `${at}.content[${j}]`));
    if (role === "system") {
      const text = blocks.map((b, j) => {
        if (b.type !== "text") {
          throw bad(`${at}.content[${j}].type`, `a system turn takes text blocks, got ${JSON.stringify(b.type)}`);
        }
        return str(b.text, `${at}.content[${j}].text`);
      }).join("\n");
      messages.push({ role: "system", content: text });
      paths.push(at);
      open = new Set();
      return;
    }
    if (role === "assistant") {
      const m: InputMessage = { role: "assistant", content: [] };
      const calls: NonNullable<InputMessage["tool_calls"]> = [];
      let thinking: string | null = null;
      blocks.forEach((b, j) => {
        const bt = `${at}.content[${j}]`;
        if (b.type === "text") (m.content as InputChunk[]).push({ type: "text", text: str(b.text, `${bt}.text`) });
        else if (b.type === "thinking") thinking = (thinking ?? "") + str(b.thinking, `${bt}.thinking`);
        else if (b.type === "redacted_thinking") return;
        else if (b.type === "tool_use") {
          const input = object(b.input ?? {}, `${bt}.input`);
          calls.push({
            id: str(b.id, `${bt}.id`),
            type: "function",
            function: { name: str(b.name, `${bt}.name`), arguments: JSON.stringify(input) },
          });
        } else {throw bad(
            `${bt}.type`,
            `unknown block ${JSON.stringify(b.type)} for an assistant turn; allowed: ${ASSISTANT_BLOCKS}`,
          );}
      });
      if (thinking !== null) m.reasoning = thinking;
      if (calls.length > 0) m.tool_calls = calls;
      if ((m.content as InputChunk[]).length === 0) m.content = calls.length > 0 ? null : "";
      messages.push(m);
      paths.push(at);
      open = new Set(calls.map((c) => c.id!));
      return;
    }
    const rest: InputChunk[] = [];
    blocks.forEach((b, j) => {
      const bt = `${at}.content[${j}]`;
      if (b.type === "text") rest.push({ type: "text", text: str(b.text, `${bt}.text`) });
      else if (b.type === "image") rest.push(image(b, bt));
      else if (b.type === "tool_result") {
        const id = str(b.tool_use_id, `${bt}.tool_use_id`);
        if (!open.has(id)) {
          throw bad(
            `${bt}.tool_use_id`,
            `no tool_use with id ${JSON.stringify(id)} in the assistant turn just before (or it was answered already)`,
          );
        }
        open.delete(id);
        const content = b.content === undefined || b.content === null ? "" : textOrImages(b.content, `${bt}.content`);
        const failed = b.is_error === true;
        messages.push({
          role: "tool",
          tool_call_id: id,
          content: failed && typeof content === "string" ? `Error: ${content}` : content,
        });
        paths.push(bt);
      } else {throw bad(
          `${bt}.type`,
          `unknown block ${JSON.stringify(b.type)} for a user turn; allowed: ${USER_BLOCKS}`,
        );}
    });
    if (rest.length > 0) {
      messages.push({ role: "user", content: rest });
      paths.push(`${at}.content`);
    }
    open = new Set();
  });
  return { messages, paths };
}
