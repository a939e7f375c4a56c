/** The bounded store behind `previous_response_id`: the conversation of each stored response (its input messages
 * and its output as an assistant turn), newest kept, least recently used dropped beyond `maxEntries` or
 * `maxChars` of JSON. It lives in the gateway's memory only: a restart or another gateway forgets it, and a client
 * that sends `store: false` (as Codex does) never needs it. */
import type { InputMessage } from "../../../runtime/text/chat/types.ts";
import type { Json } from "../dialect-fields.ts";

export interface StoreLimits {
  maxEntries: number;
  maxChars: number;
}

export const DEFAULT_STORE_LIMITS: StoreLimits = { maxEntries: 128, maxChars: 32 * 1024 * 1024 };

export class ResponseStore {
  readonly #entries = new Map<string, { messages: InputMessage[]; chars: number }>();
  #chars = 0;

  constructor(private readonly limits: StoreLimits = DEFAULT_STORE_LIMITS) {}

  get size(): number {
    return this.#entries.size;
  }

  /** The conversation up to and including response `id`, or undefined when it is not (or no longer) kept. */
  get(id: string): InputMessage[] | undefined {
    const e = this.#entries.get(id);
    if (!e) return undefined;
    this.#entries.delete(id); // refresh its place in the LRU order
    this.#entries.set(id, e);
    return e.messages;
  }

  /** Keeps `input` followed by the response's output items as one assistant turn (and tool calls). */
  put(id: string, input: InputMessage[], response: Json): void {
    const messages = [...input, ...assistantTurn(response.output as Json[])];
    const chars = JSON.stringify(messages).length;
    if (chars > this.limits.maxChars) return;
    this.#entries.set(id, { messages, chars });
    this.#chars += chars;
    for (const [key, e] of this.#entries) {
      if (this.#entries.size <= this.limits.maxEntries && this.#chars <= this.limits.maxChars) break;
      this.#entries.delete(key);
      this.#chars -= e.chars;
    }
  }
}

function assistantTurn(output: Json[]): InputMessage[] {
  const m: InputMessage = { role: "assistant", content: null };
  for (const item of output) {
    if (item.type === "reasoning") m.reasoning = (item.content as { text: string }[]).map((c) => c.text).join("");
    else if (item.type === "message") m.content = (item.content as { text: string }[]).map((c) => c.text).join("");
    else if (item.type === "function_call") {
      m.tool_calls = [...(m.tool_calls ?? []), {
        id: item.call_id as string,
        type: "function",
        function: { name: item.name as string, arguments: item.arguments as string },
      }];
    }
  }
  return m.content === null && !m.tool_calls ? [] : [m];
}
