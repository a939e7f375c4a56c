/** One of the n answers of a chat request: token ids in, dialect-neutral events out (reasoning and answer text,
 * tool calls, log-probs), with stop sequences cut from the answer and the finish reason decided. The streaming and
 * the one-shot responses both fold these events, so they cannot disagree. */
import type { GeneratedToken, GenerateEvent, Usage } from "../sdk/binding.ts";
import { OutputStreamParser } from "../../runtime/text/parse/stream.ts";
import type { OutputErrorCode, StreamEvent } from "../../runtime/text/parse/stream.ts";
import type { Tokenizer } from "../../runtime/text/tokenizer.ts";
import { StopMatcher } from "./stop.ts";

export interface TokenLogprob {
  token: string;
  logprob: number;
  bytes: number[];
  top_logprobs: Array<{ token: string; logprob: number; bytes: number[] }>;
}

export type ChatEvent = Exclude<StreamEvent, { type: "error" }> | {
  type: "tool_call_error";
  code: OutputErrorCode;
  message: string;
  index?: number;
  text: string;
} | { type: "logprobs"; tokens: TokenLogprob[] };

export type FinishReason = "stop" | "length" | "tool_calls" | "abort";

export interface ChoiceOptions {
  stop: readonly string[];
  /** Client-given stop token ids: the one that ends the answer is not part of it (vLLM does the same). */
  stopTokenIds: ReadonlySet<number>;
  logprobs: boolean;
  newToolCallId?: (index: number) => string;
  /** The runtime generates past </s>: the text after it is part of the answer. */
  ignoreEos?: boolean;
}

export class ChoiceState {
  finishReason: FinishReason | null = null;
  /** Finished here (a stop sequence matched) while the runtime may still be generating it. */
  stoppedBySequence = false;
  /** The stop sequence that ended the answer (Messages' `stop_sequence`). */
  matchedStop: string | null = null;
  usage: Usage | null = null;
  tokenCount = 0;
  // one-shot accumulation
  content = "";
  reasoning = "";
  readonly toolCalls: Array<{ id: string; name: string; arguments: string; done: boolean }> = [];
  readonly toolCallErrors: Array<{ code: OutputErrorCode; message: string; index?: number; text: string }> = [];
  readonly logprobs: TokenLogprob[] = [];

  private heldCall: { start: Extract<StreamEvent, { type: "tool_call_start" }>; args: string } | null = null;
  private readonly parser: OutputStreamParser;
  private readonly stop: StopMatcher | null;

  constructor(readonly index: number, private readonly tok: Tokenizer, private readonly opts: ChoiceOptions) {
    this.parser = new OutputStreamParser(tok, {
      ...(opts.newToolCallId ? { newId: opts.newToolCallId } : {}),
      ignoreEos: opts.ignoreEos === true,
    });
    this.stop = opts.stop.length > 0 ? new StopMatcher(opts.stop) : null;
  }

  get done(): boolean {
    return this.finishReason !== null;
  }

  get hasReasoning(): boolean {
    return this.parser.hasReasoning;
  }

  /** Events for one runtime event of this choice. */
  apply(ev: GenerateEvent): ChatEvent[] {
    if (ev.usage) this.usage = ev.usage;
    if (this.done) return []; // finished by a stop sequence; the runtime's tail is dropped
    let tokens = ev.tokens;
    this.tokenCount += tokens.length;
    if (
      ev.finishReason === "stop" && tokens.length > 0 && this.opts.stopTokenIds.has(tokens[tokens.length - 1].token)
    ) {
      tokens = tokens.slice(0, -1);
    }
    const out: ChatEvent[] = [];
    if (this.opts.logprobs && tokens.length > 0) {
      out.push({
        type: "logprobs",
        tokens: tokens.map((t) => this.logprob(t)),
      });
    }
    this.take(this.parser.push(tokens.map((t) => t.token)), out);
    const finishing = !this.done && ev.finishReason !== null;
    if (finishing) {
      this.take(this.parser.finish(), out);
      if (!this.done && this.stop) this.emitContent(this.stop.flush(), out);
    }
    // recorded before the finish is decided: a call may end in this very event (its last tokens and the finish
    // in one step, as speculation delivers them)
    this.record(out);
    if (finishing && !this.done) {
      this.finishReason = ev.finishReason === "stop" && this.toolCalls.some((c) => c.done)
        ? "tool_calls"
        : ev.finishReason;
    }
    return out;
  }

  /** The runtime ended without a finish for this choice (stream cut): close what is open. */
  abandon(reason: FinishReason): ChatEvent[] {
    if (this.done) return [];
    const out: ChatEvent[] = [];
    this.take(this.parser.finish(), out);
    if (!this.done && this.stop) this.emitContent(this.stop.flush(), out);
    if (!this.done) this.finishReason = reason;
    this.record(out);
    return out;
  }

  private take(events: StreamEvent[], out: ChatEvent[]): void {
    for (const e of events) {
      if (this.done) return;
      if (e.type === "content") {
        if (!this.stop) out.push(e);
        else {
          const r = this.stop.push(e.text);
          this.emitContent(r.text, out);
          if (r.stopped) {
            this.finishReason = "stop";
            this.stoppedBySequence = true;
            this.matchedStop = r.matched ?? null;
          }
        }
        continue;
      }
      // another segment starts: held-back answer text can no longer become a stop sequence
      if (this.stop) this.emitContent(this.stop.flush(), out);
      this.takeCall(e, out);
    }
  }

  /** Unreadable tool calls, one way in every dialect and both stream modes: a call is held until it closes, so no
   * client ever receives part of a call that then fails; a call that cannot be read (cut by the token limit, not
   * JSON, not a function name) is not a call: what the model wrote (name, then arguments) goes out as answer text,
   * and a `tool_call_error` event says why (chat completions list it in `tool_call_errors`). */
  private takeCall(e: Exclude<StreamEvent, { type: "content" }>, out: ChatEvent[]): void {
    if (e.type === "tool_call_start") this.heldCall = { start: e, args: "" };
    else if (e.type === "tool_call_args" && this.heldCall) this.heldCall.args += e.text;
    else if (e.type === "tool_call_end") {
      const held = this.heldCall;
      this.heldCall = null;
      if (held) out.push(held.start, { type: "tool_call_args", index: e.index, text: e.arguments });
      out.push(e);
    } else if (e.type === "error") {
      const held = this.heldCall;
      this.heldCall = null;
      this.emitContent(held ? `${held.start.name}${held.args}` : e.text, out);
      out.push({ type: "tool_call_error", code: e.code, message: e.message, index: e.index, text: e.text });
    } else out.push(e);
  }

  private emitContent(text: string, out: ChatEvent[]): void {
    if (text) out.push({ type: "content", text });
  }

  /** Fold into the one-shot fields. */
  private record(events: ChatEvent[]): void {
    for (const e of events) {
      switch (e.type) {
        case "content":
          this.content += e.text;
          break;
        case "reasoning":
          this.reasoning += e.text;
          break;
        case "tool_call_start":
          this.toolCalls[e.index] = { id: e.id, name: e.name, arguments: "", done: false };
          break;
        case "tool_call_args":
          this.toolCalls[e.index].arguments += e.text;
          break;
        case "tool_call_end":
          this.toolCalls[e.index].arguments = e.arguments;
          this.toolCalls[e.index].done = true;
          break;
        case "tool_call_error":
          this.toolCallErrors.push({ code: e.code, message: e.message, index: e.index, text: e.text });
          break;
        case "logprobs":
          this.logprobs.push(...e.tokens);
          break;
      }
    }
  }

  private logprob(t: GeneratedToken): TokenLogprob {
    const one = (id: number, logprob: number) => {
      const bytes = this.tok.isControl(id) ? [] : [...this.tok.tokenBytes(id)];
      return { token: this.tok.decode([id], "show"), logprob, bytes };
    };
    return { ...one(t.token, t.logprob), top_logprobs: (t.topLogprobs ?? []).map((a) => one(a.token, a.logprob)) };
  }
}
