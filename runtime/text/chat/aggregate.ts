/** mistral-common's InstructRequestNormalizerV15: merge consecutive messages of one role, coalesce text chunks,
 * reorder tool results to the order of the calls they answer (normalize.py). */
import type { Chunk, Content, Message, ToolCall } from "./types.ts";

const MSG_JOIN = "\n\n"; // between texts of different merged messages
const CHUNK_JOIN = ""; // between adjacent text chunks of one message (v15)

/** `_aggregate_content_chunks_impl`: a string when only text remains, else chunks with adjacent text merged. */
export function aggregateContent(contents: Array<Content | null>): Content {
  const all: Chunk[] = [];
  let parts: string[] = [];
  const flush = () => {
    if (parts.length) all.push({ type: "text", text: parts.join("") });
    parts = [];
  };
  for (const content of contents) {
    let needSep = parts.length > 0;
    if (!content) continue; // null or ""
    if (typeof content === "string") {
      parts.push((needSep ? MSG_JOIN : "") + content);
      continue;
    }
    for (const chunk of content) {
      if (chunk.type === "text") {
        if (!chunk.text) continue;
        const join = parts.length === 0 ? "" : needSep ? MSG_JOIN : CHUNK_JOIN;
        parts.push(join + chunk.text);
        needSep = false;
      } else {
        flush();
        all.push(chunk);
      }
    }
  }
  if (all.length === 0) return parts.join("");
  flush();
  return all;
}

function sortToolResults(results: Array<Extract<Message, { role: "tool" }>>, callIds: string[]): void {
  const callIdx = new Map<string, number>();
  callIds.forEach((id, i) => callIdx.set(id, i));
  const resultIdx = new Map<string, number>();
  results.forEach((m, i) => resultIdx.set(m.toolCallId, i));
  const key = (m: (typeof results)[number]) => [callIdx.get(m.toolCallId) ?? Infinity, resultIdx.get(m.toolCallId)!];
  results.sort((a, b) => {
    const [a0, a1] = key(a);
    const [b0, b1] = key(b);
    return a0 !== b0 ? a0 - b0 : a1 - b1;
  });
}

function mergeGroup(group: Message[], callIds: string[]): Message[] {
  const role = group[0].role;
  const index = group[0].index;
  if (role === "system") return group.map((m) => ({ ...m, content: aggregateContent([m.content]) }));
  if (role === "tool") {
    const results = group.map((m) => ({
      ...(m as Extract<Message, { role: "tool" }>),
      content: aggregateContent([m.content]),
    }));
    sortToolResults(results, callIds);
    return results;
  }
  if (role === "user") return [{ role, content: aggregateContent(group.map((m) => m.content)), index }];
  const calls: ToolCall[] = [];
  let prefix = false;
  for (const m of group) {
    if (m.role !== "assistant") continue;
    if (m.toolCalls) calls.push(...m.toolCalls);
    prefix ||= m.prefix;
  }
  return [{
    role: "assistant",
    content: aggregateContent(group.map((m) => m.content)),
    toolCalls: calls.length ? calls : null,
    prefix,
    index,
  }];
}

/** `_aggregate_messages` of the v15 normalizer (system messages are not merged; no empty user is inserted). */
export function aggregateMessages(messages: Message[]): Message[] {
  const out: Message[] = [];
  const callIds: string[] = [];
  let group: Message[] = [];
  const close = () => {
    if (!group.length) return;
    const role = group[0].role;
    out.push(...mergeGroup(group, callIds));
    if (role === "assistant") {
      const a = out[out.length - 1];
      if (a.role === "assistant" && a.toolCalls) callIds.push(...a.toolCalls.map((c) => c.id));
    } else if (role === "tool") callIds.length = 0;
    group = [];
  };
  for (const m of messages) {
    if (group.length && group[0].role !== m.role) close();
    group.push(m);
  }
  close();
  if (out.length === 0) out.push({ role: "user", content: "", index: 0 });
  return out;
}
