// The conversation and its runs: send, stop, regenerate, answer a tool call. Each run streams one assistant answer
// and redraws it as chunks arrive; the history sent to the gateway is the messages of the entries.
import { apiFetch, errorMessage } from "./api.ts";
import { type Answer, applyChunk, newAnswer } from "./answer.ts";
import { chatBody, type Message, type Part, type Settings, SettingsError } from "./request.ts";
import { sseData } from "./sse.ts";
import { type Entry, renderEntry } from "./view.ts";

export interface ChatView {
  list: HTMLElement;
  error: HTMLElement;
  /** Called when a run starts or ends (buttons follow it). */
  onBusy(busy: boolean): void;
  settings(): Settings;
}

export class Chat {
  readonly entries: Entry[] = [];
  #controller: AbortController | null = null;

  constructor(private readonly view: ChatView) {}

  get busy(): boolean {
    return this.#controller !== null;
  }

  send(text: string, images: string[]): void {
    const parts: Part[] = images.map((url) => ({ type: "image_url", image_url: { url } }));
    if (text) parts.push({ type: "text", text });
    const content = images.length === 0 ? text : parts;
    this.entries.push({ message: { role: "user", content } });
    void this.#run();
  }

  stop(): void {
    this.#controller?.abort();
  }

  /** Drops the last answer (and the tool results after it) and asks again. */
  regenerate(): void {
    while (this.entries.length > 0 && this.entries[this.entries.length - 1].message.role !== "user") {
      this.entries.pop();
    }
    if (this.entries.length > 0) void this.#run();
    else this.draw();
  }

  clear(): void {
    this.stop();
    this.entries.length = 0;
    this.draw();
  }

  /** A result for one tool call; once every call of that answer has one, the model continues. */
  answerTool(callId: string, result: string): void {
    this.entries.push({ message: { role: "tool", tool_call_id: callId, content: result } });
    const owner = [...this.entries].reverse().find((e) => e.answer?.toolCalls.some((c) => c.id === callId));
    const answered = this.#answeredIds();
    if (owner && owner.answer!.toolCalls.every((c) => answered.has(c.id))) void this.#run();
    else this.draw();
  }

  #answeredIds(): Set<string> {
    return new Set(this.entries.flatMap((e) => e.message.role === "tool" ? [e.message.tool_call_id] : []));
  }

  draw(): void {
    const answered = this.#answeredIds();
    const onResult = (id: string, r: string) => this.answerTool(id, r);
    this.view.list.replaceChildren(...this.entries.map((e) => renderEntry(e, answered, onResult)));
    this.view.list.lastElementChild?.scrollIntoView({ block: "end" });
  }

  async #run(): Promise<void> {
    if (this.#controller) return;
    this.view.error.textContent = "";
    let body: Record<string, unknown>;
    try {
      body = chatBody(this.view.settings(), this.entries.map((e) => e.message));
    } catch (e) {
      if (!(e instanceof SettingsError)) throw e;
      this.view.error.textContent = e.message;
      this.draw();
      return;
    }
    const answer = newAnswer(performance.now());
    const entry: Entry = { message: { role: "assistant", content: "" }, answer };
    this.entries.push(entry);
    const controller = this.#controller = new AbortController();
    this.view.onBusy(true);
    this.draw();
    try {
      await this.#stream(body, answer, controller.signal);
    } catch (e) {
      entry.note = controller.signal.aborted ? "Stopped." : `The answer broke off: ${(e as Error).message}`;
    } finally {
      answer.endedAt = performance.now();
      entry.message = assistantMessage(answer);
      this.#controller = null;
      if (!answer.content && !answer.reasoning && answer.toolCalls.length === 0 && !entry.note) {
        this.entries.pop(); // nothing came back (an error said why): keep the history sendable
      }
      this.view.onBusy(false);
      this.draw();
    }
  }

  async #stream(body: Record<string, unknown>, answer: Answer, signal: AbortSignal): Promise<void> {
    const res = await apiFetch("/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal,
    });
    if (!res.ok || !res.body) {
      this.view.error.textContent = `The gateway refused the request: ${await errorMessage(res)}`;
      return;
    }
    let pending = false;
    for await (const data of sseData(res.body)) {
      const chunk = JSON.parse(data);
      if (chunk.error) throw new Error(chunk.error.message ?? JSON.stringify(chunk.error));
      applyChunk(answer, chunk, performance.now());
      if (!pending) {
        pending = true; // one redraw per frame however many chunks arrive
        requestAnimationFrame(() => {
          pending = false;
          this.draw();
        });
      }
    }
  }
}

function assistantMessage(a: Answer): Message {
  if (a.toolCalls.length === 0) return { role: "assistant", content: a.content };
  return {
    role: "assistant",
    content: a.content || null,
    tool_calls: a.toolCalls.map((c) => ({
      id: c.id,
      type: "function",
      function: { name: c.name, arguments: c.arguments },
    })),
  };
}
