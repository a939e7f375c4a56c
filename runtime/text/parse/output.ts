/** One-shot output parsing: the streaming parser run over all ids, its events folded into one result. */
import type { Tokenizer } from "../tokenizer.ts";
import { OutputStreamParser } from "./stream.ts";
import type { OutputErrorCode, ParserOptions, StreamEvent } from "./stream.ts";

export interface ParsedToolCall {
  id: string;
  name: string;
  /** The arguments' JSON text as the model wrote it. */
  arguments: string;
}

export interface ParsedOutput {
  /** Answer text (before [THINK] and after [/THINK]); null when empty. */
  content: string | null;
  /** Reasoning text; null when the model opened no think block ("" for an empty one). */
  reasoning: string | null;
  /** Calls whose arguments closed as valid JSON. */
  toolCalls: ParsedToolCall[];
  /** Malformed or cut tool calls. */
  errors: Array<{ code: OutputErrorCode; message: string; index?: number; text: string }>;
  /** True when the output ended with </s>. */
  ended: boolean;
}

/** Fold stream events into a result (the same fold applies to token-by-token events). */
export function foldEvents(events: StreamEvent[], hasReasoning: boolean, ended: boolean): ParsedOutput {
  let content = "";
  let reasoning = "";
  const calls = new Map<number, ParsedToolCall & { done: boolean }>();
  const errors: ParsedOutput["errors"] = [];
  for (const e of events) {
    if (e.type === "content") content += e.text;
    else if (e.type === "reasoning") reasoning += e.text;
    else if (e.type === "tool_call_start") calls.set(e.index, { id: e.id, name: e.name, arguments: "", done: false });
    else if (e.type === "tool_call_args") calls.get(e.index)!.arguments += e.text;
    else if (e.type === "tool_call_end") {
      const c = calls.get(e.index)!;
      c.arguments = e.arguments;
      c.done = true;
    } else errors.push({ code: e.code, message: e.message, index: e.index, text: e.text });
  }
  return {
    content: content === "" ? null : content,
    reasoning: hasReasoning ? reasoning : null,
    toolCalls: [...calls.values()].filter((c) => c.done).map(({ id, name, arguments: a }) => ({
      id,
      name,
      arguments: a,
    })),
    errors,
    ended,
  };
}

/** Parse a whole generated sequence (ids after the prompt). */
export function parseOutput(tok: Tokenizer, ids: ArrayLike<number>, opts: ParserOptions = {}): ParsedOutput {
  const p = new OutputStreamParser(tok, opts);
  const events = [...p.push(ids), ...p.finish()];
  return foldEvents(events, p.hasReasoning, p.ended);
}
