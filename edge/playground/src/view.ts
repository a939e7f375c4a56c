// Renders conversation entries as list items. An assistant entry shows its reasoning in a collapsible section with
// its token count, its text, its tool calls (each with a field to answer it) and its usage line.
import { type Answer, answerStats, statsLine } from "./answer.ts";
import type { Message, Part } from "./request.ts";

export interface Entry {
  message: Message;
  /** For assistant entries: the stream as it arrived. */
  answer?: Answer;
  /** Why the answer ended early (stopped, an error), shown under it. */
  note?: string;
}

/** Called when the person answers a tool call: (the call's id, the result text). */
export type OnToolResult = (callId: string, result: string) => void;

const el = <K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<HTMLElementTagNameMap[K]> = {},
): HTMLElementTagNameMap[K] => Object.assign(document.createElement(tag), props);

function userParts(content: string | Part[]): HTMLElement[] {
  const parts = typeof content === "string" ? [{ type: "text", text: content } as Part] : content;
  return parts.map((p, i) =>
    p.type === "text"
      ? el("p", { className: "text", textContent: p.text })
      : el("img", { src: p.image_url.url, alt: `image ${i + 1} you sent` })
  );
}

function reasoningSection(a: Answer): HTMLElement {
  const tokens = a.usage?.completion_tokens_details?.reasoning_tokens;
  const details = el("details", { className: "reasoning", open: a.endedAt === null });
  const count = tokens === undefined ? "thinking…" : `${tokens} tokens`;
  details.append(el("summary", { textContent: `Reasoning (${count})` }), el("pre", { textContent: a.reasoning }));
  return details;
}

function toolCallView(
  call: Answer["toolCalls"][number],
  answered: boolean,
  finished: boolean,
  onResult: OnToolResult,
): HTMLElement {
  const box = el("div", { className: "tool-call" });
  box.append(
    el("p", { textContent: `Tool call: ${call.name}` }),
    el("pre", { textContent: call.arguments }),
  );
  // the field appears once the answer has ended: the model continues only after every call has its result
  if (answered || !call.id || !finished) return box;
  const form = el("form");
  const id = `result-${call.id}`;
  const label = el("label", { htmlFor: id, textContent: `Result for ${call.name}` });
  const input = el("textarea", { id, rows: 2 });
  input.spellcheck = false;
  const send = el("button", { type: "submit", textContent: "Send result" });
  form.append(label, input, send);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    onResult(call.id, input.value);
  });
  box.append(form);
  return box;
}

export function renderEntry(e: Entry, answeredIds: Set<string>, onResult: OnToolResult): HTMLLIElement {
  const li = el("li", { className: "msg" });
  li.dataset.role = e.message.role;
  if (e.message.role === "user") {
    li.append(el("p", { className: "who", textContent: "You" }), ...userParts(e.message.content));
  } else if (e.message.role === "tool") {
    li.append(
      el("p", { className: "who", textContent: `Tool result for ${e.message.tool_call_id}` }),
      el("p", { className: "text", textContent: e.message.content }),
    );
  } else {
    li.append(el("p", { className: "who", textContent: "Assistant" }));
    const a = e.answer;
    if (a && a.reasoning) li.append(reasoningSection(a));
    if (a?.content) li.append(el("p", { className: "text answer", textContent: a.content }));
    for (const call of a?.toolCalls ?? []) {
      li.append(toolCallView(call, answeredIds.has(call.id), a!.endedAt !== null, onResult));
    }
    for (const msg of a?.toolCallErrors ?? []) li.append(el("p", { className: "error", textContent: msg }));
    const stats = a ? answerStats(a) : null;
    if (stats) li.append(el("p", { className: "usage", textContent: statsLine(stats) }));
    if (e.note) li.append(el("p", { className: "error", textContent: e.note }));
  }
  return li;
}
