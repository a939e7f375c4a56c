/** The Responses API's answer: one `response` object, or its streamed event sequence, folded from the chat core's
 * events. Output items in the order the model wrote them: `reasoning` (its text as `reasoning_text` content),
 * `message` (`output_text`), `function_call` (one per call). Streamed, each item goes
 * `response.output_item.added` → its deltas (`response.reasoning_text.delta`, `response.output_text.delta`,
 * `response.function_call_arguments.delta`) → its `.done` events → `response.output_item.done`, between
 * `response.created`/`response.in_progress` and `response.completed` (or `response.incomplete` when the token limit
 * cut the answer), whose `response` equals the one-shot body. Every event has `type` and `sequence_number`; the
 * SSE `event:` line repeats the type. Warnings (hosted tools left out) ride in a `warnings` list. */
import type { HttpError } from "../../http/errors.ts";
import type { ChatEvent } from "../../chat/choice.ts";
import type { ChatRun } from "../../chat/run.ts";
import type { DialectFormat, ResponseMeta } from "../chat/format.ts";
import { randomHex, validToolCalls } from "../chat/format.ts";
import type { Json } from "../dialect-fields.ts";
import type { ResponsesRequest } from "./request.ts";

type Item =
  | { type: "reasoning"; id: string; summary: []; content: { type: "reasoning_text"; text: string }[] }
  | {
    type: "message";
    id: string;
    status: "in_progress" | "completed";
    role: "assistant";
    content: { type: "output_text"; text: string; annotations: []; logprobs: [] }[];
  }
  | {
    type: "function_call";
    id: string;
    status: "in_progress" | "completed";
    call_id: string;
    name: string;
    arguments: string;
  };

export const newCallId = () => `call_${randomHex(24)}`;

/** Folds chat-core events into output items, and says what happened as stream events. */
class OutputBuilder {
  readonly items: Item[] = [];
  #open: Item | null = null;

  /** Stream events for one core event (an empty list when not streaming is fine: the items are what counts). */
  apply(e: ChatEvent): Json[] {
    const out: Json[] = [];
    if (e.type === "reasoning") {
      const item = this.#ensure("reasoning", out);
      if (item.type === "reasoning") item.content[0].text += e.text;
      out.push({ type: "response.reasoning_text.delta", ...this.#where(item), content_index: 0, delta: e.text });
    } else if (e.type === "content") {
      const item = this.#ensure("message", out);
      if (item.type === "message") item.content[0].text += e.text;
      out.push({
        type: "response.output_text.delta",
        ...this.#where(item),
        content_index: 0,
        delta: e.text,
        logprobs: [],
      });
    } else if (e.type === "tool_call_start") {
      this.#close(out);
      const item: Item = {
        type: "function_call",
        id: `fc_${randomHex(24)}`,
        status: "in_progress",
        call_id: e.id,
        name: e.name,
        arguments: "",
      };
      this.#add(item, out);
    } else if (e.type === "tool_call_args" && this.#open?.type === "function_call") {
      this.#open.arguments += e.text;
      out.push({ type: "response.function_call_arguments.delta", ...this.#where(this.#open), delta: e.text });
    } else if (e.type === "tool_call_end" && this.#open?.type === "function_call") {
      this.#open.arguments = e.arguments;
      this.#close(out);
    }
    return out;
  }

  /** Closes the open item (end of the answer). */
  finish(): Json[] {
    const out: Json[] = [];
    this.#close(out);
    return out;
  }

  #where(item: Item) {
    return { item_id: item.id, output_index: this.items.indexOf(item) };
  }

  #ensure(kind: "reasoning" | "message", out: Json[]): Item {
    if (this.#open?.type === kind) return this.#open;
    this.#close(out);
    const item: Item = kind === "reasoning"
      ? { type: "reasoning", id: `rs_${randomHex(24)}`, summary: [], content: [{ type: "reasoning_text", text: "" }] }
      : {
        type: "message",
        id: `msg_${randomHex(24)}`,
        status: "in_progress",
        role: "assistant",
        content: [{ type: "output_text", text: "", annotations: [], logprobs: [] }],
      };
    this.#add(item, out);
    return item;
  }

  #add(item: Item, out: Json[]): void {
    this.items.push(item);
    this.#open = item;
    // the added item has no parts yet; content_part.added brings the one the deltas go to (the SDKs fold them so)
    const added = item.type === "function_call" ? structuredClone(item) : { ...structuredClone(item), content: [] };
    out.push({ type: "response.output_item.added", output_index: this.items.length - 1, item: added });
    if (item.type !== "function_call") {
      out.push({
        type: "response.content_part.added",
        ...this.#where(item),
        content_index: 0,
        part: structuredClone(item.content[0]),
      });
    }
  }

  #close(out: Json[]): void {
    const item = this.#open;
    if (!item) return;
    this.#open = null;
    const where = this.#where(item);
    if (item.type === "reasoning") {
      out.push({ type: "response.reasoning_text.done", ...where, content_index: 0, text: item.content[0].text });
      out.push({
        type: "response.content_part.done",
        ...where,
        content_index: 0,
        part: structuredClone(item.content[0]),
      });
    } else if (item.type === "message") {
      item.status = "completed";
      out.push({
        type: "response.output_text.done",
        ...where,
        content_index: 0,
        text: item.content[0].text,
        logprobs: [],
      });
      out.push({
        type: "response.content_part.done",
        ...where,
        content_index: 0,
        part: structuredClone(item.content[0]),
      });
    } else {
      item.status = "completed";
      out.push({
        type: "response.function_call_arguments.done",
        ...where,
        name: item.name,
        arguments: item.arguments,
      });
    }
    out.push({ type: "response.output_item.done", output_index: where.output_index, item: structuredClone(item) });
  }
}

export function usageOf(run: ChatRun) {
  const u = run.usage();
  return {
    input_tokens: u.promptTokens,
    input_tokens_details: { cached_tokens: u.cachedTokens },
    output_tokens: u.completionTokens,
    output_tokens_details: { reasoning_tokens: u.reasoningTokens },
    total_tokens: u.promptTokens + u.completionTokens,
  };
}

/** The format of one request (it keeps the items of its stream). `onDone` sees the finished response (the store). */
export function responsesFormat(req: ResponsesRequest, onDone?: (response: Json) => void): DialectFormat {
  const builder = new OutputBuilder();
  let seq = 0;
  const numbered = (events: Json[]) => events.map((e) => ({ ...e, sequence_number: seq++ }));
  const response = (run: ChatRun, meta: ResponseMeta, status: string, done: boolean): Json => {
    const ch = run.choices[0];
    const cut = done && ch.finishReason === "length";
    return {
      id: meta.id,
      object: "response",
      created_at: meta.created,
      status: done ? (cut ? "incomplete" : "completed") : status,
      error: null,
      incomplete_details: cut ? { reason: "max_output_tokens" } : null,
      model: meta.model,
      output: done ? structuredClone(builder.items) : [],
      usage: done ? usageOf(run) : null,
      ...req.echo,
      ...(req.warnings.length > 0 ? { warnings: req.warnings } : {}),
    };
  };
  const finished = (run: ChatRun, meta: ResponseMeta) => {
    const r = response(run, meta, "completed", true);
    onDone?.(r);
    return r;
  };
  return {
    newId: () => `resp_${randomHex(32)}`,
    completion(run, meta) {
      // the folded answer through the same builder the stream uses, so both bodies agree
      const ch = run.choices[0];
      if (ch.reasoning) builder.apply({ type: "reasoning", text: ch.reasoning });
      if (ch.content) builder.apply({ type: "content", text: ch.content });
      validToolCalls(ch).forEach((t, index) => {
        builder.apply({ type: "tool_call_start", index, id: t.id, name: t.name });
        builder.apply({ type: "tool_call_end", index, arguments: t.arguments });
      });
      builder.finish();
      return finished(run, meta);
    },
    openChunks(run, meta) {
      const r = response(run, meta, "in_progress", false);
      return numbered([{ type: "response.created", response: r }, { type: "response.in_progress", response: r }]);
    },
    updateChunks(update) {
      return numbered(update.events.flatMap((e) => builder.apply(e)));
    },
    closeChunks(run, meta) {
      const r = finished(run, meta);
      const end = r.status === "incomplete" ? "response.incomplete" : "response.completed";
      return numbered([...builder.finish(), { type: end, response: r }]);
    },
    sse: {
      event: (chunk) => (chunk as Json).type as string,
      done: false,
      error: (e: HttpError) => {
        const body = e.toJSON().error;
        return { type: "error", code: body.code, message: body.message, param: body.param, sequence_number: seq++ };
      },
      // OpenAI's own heartbeat on long streams (its SDKs skip it); Codex resets its idle timer on any event
      keepAlive: () => ({ type: "keepalive", sequence_number: seq++ }),
    },
  };
}
