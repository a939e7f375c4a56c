/**
 * Streaming output parser on token ids (model-spec §8): splits reasoning at [THINK]/[/THINK], parses
 * `[TOOL_CALLS]name[ARGS]{json}` calls (and the older `[TOOL_CALLS][{"name": ..., "arguments": ...}]` list) and
 * emits deltas as tokens arrive, with UTF-8-safe detokenization. Feeding ids one at a time or all at once gives
 * the same events once coalesced (see `parseOutput`). Malformed tool calls become `error` events, never content.
 */
import { FUNCTION_NAME_RE } from "../chat/tools-input.ts";
import { newToolCallId } from "../chat/tool-ids.ts";
import { pyDumps } from "../json/pyjson.ts";
import type { Tokenizer } from "../tokenizer.ts";
import { Utf8Stream } from "../utf8.ts";
import { JsonCloseScanner } from "./json-scan.ts";

export type OutputErrorCode =
  | "tool-name-invalid" // the text between [TOOL_CALLS] and [ARGS] is not a function name
  | "tool-call-truncated" // the stream ended inside a tool name or before its arguments closed
  | "tool-arguments-invalid" // the arguments are not valid JSON
  | "tool-arguments-trailing"; // text after the arguments' JSON closed

export type StreamEvent =
  | { type: "reasoning"; text: string }
  | { type: "content"; text: string }
  /** A tool call begins: its name, once. `index` counts calls in this output from 0. */
  | { type: "tool_call_start"; index: number; id: string; name: string }
  /** A fragment of the call's arguments text. */
  | { type: "tool_call_args"; index: number; text: string }
  /** The call's arguments closed and parse as JSON; `arguments` is the whole text. */
  | { type: "tool_call_end"; index: number; arguments: string }
  | { type: "error"; code: OutputErrorCode; message: string; index?: number; text: string };

export interface ParserOptions {
  /** Id for the n-th tool call (default: random 9 alphanumerics, like Mistral's API). */
  newId?: (index: number) => string;
  /** The request asked the runtime to ignore </s> (vLLM's `ignore_eos`): it is dropped like other control tokens
   * and the text after it is parsed, rather than ending the output. */
  ignoreEos?: boolean;
}

type Mode = "content" | "think" | "name" | "args" | "legacy" | "skip" | "done";

export class OutputStreamParser {
  private mode: Mode = "content";
  private readonly utf8 = new Utf8Stream();
  private readonly ids: { think?: number; endThink?: number; calls?: number; args?: number; eos: number };
  private readonly newId: (index: number) => string;
  private readonly ignoreEos: boolean;
  private name = "";
  private argsText = "";
  private scanner = new JsonCloseScanner();
  private callIndex = -1;
  private callOpen = false;
  private sawThink = false;
  private events: StreamEvent[] = [];
  /** True once [THINK] was seen; reasoning is then "" rather than absent. */
  get hasReasoning(): boolean {
    return this.sawThink;
  }
  /** True when the model closed its turn with </s>. */
  ended = false;

  constructor(private readonly tok: Tokenizer, opts: ParserOptions = {}) {
    this.ids = {
      think: tok.findControl("[THINK]"),
      endThink: tok.findControl("[/THINK]"),
      calls: tok.findControl("[TOOL_CALLS]"),
      args: tok.findControl("[ARGS]"),
      eos: tok.eosId,
    };
    this.newId = opts.newId ?? (() => newToolCallId());
    this.ignoreEos = opts.ignoreEos === true;
  }

  /** Feed generated ids; returns the events they complete. */
  push(ids: ArrayLike<number>): StreamEvent[] {
    this.events = [];
    for (let i = 0; i < ids.length; i++) this.token(ids[i]);
    return this.coalesce(this.events);
  }

  /** End of generation (</s>, a length limit, or a cut stream): flushes text and reports unfinished calls. */
  finish(): StreamEvent[] {
    this.events = [];
    this.endSegment();
    this.closeCall(true);
    this.mode = "done";
    return this.coalesce(this.events);
  }

  private token(id: number): void {
    if (this.mode === "done") return;
    const ids = this.ids;
    if (!this.tok.isControl(id)) {
      this.text(this.utf8.push(this.tok.tokenBytes(id)));
      return;
    }
    if (id === ids.eos && this.ignoreEos) return;
    if (id === ids.eos) {
      this.endSegment();
      this.closeCall(true);
      this.ended = true;
      this.mode = "done";
      return;
    }
    if (this.mode === "think") {
      if (id === ids.endThink) {
        this.endSegment();
        this.mode = "content";
      }
      return; // other controls inside a think block are dropped
    }
    if (id === ids.think && this.mode === "content") {
      this.endSegment();
      this.sawThink = true;
      this.mode = "think";
      return;
    }
    if (id === ids.calls) {
      this.endSegment();
      this.closeCall(false);
      this.mode = "name";
      this.name = "";
      return;
    }
    if (id === ids.args && this.mode === "name") {
      this.endSegment();
      this.startArgs(this.name.trim());
      return;
    }
    // stray [/THINK], [ARGS] outside a name, other controls: dropped (decode's default policy)
    this.endSegment();
  }

  /** Flush the UTF-8 stream at a segment edge (a control token): a cut character becomes U+FFFD. */
  private endSegment(): void {
    this.text(this.utf8.flush());
  }

  private text(s: string): void {
    if (!s) return;
    switch (this.mode) {
      case "content":
        this.events.push({ type: "content", text: s });
        return;
      case "think":
        this.events.push({ type: "reasoning", text: s });
        return;
      case "name": {
        this.name += s;
        const t = this.name.trimStart();
        if (t.startsWith("[") || t.startsWith("{")) {
          // the older list format: [TOOL_CALLS][{"name": ..., "arguments": ...}, ...]
          this.mode = "legacy";
          this.argsText = "";
          this.scanner = new JsonCloseScanner();
          const name = this.name;
          this.name = "";
          this.text(name);
          return;
        }
        const brace = this.name.indexOf("{");
        if (brace > 0) {
          // `name{args}` without [ARGS] (older detokenized form)
          const rest = this.name.slice(brace);
          this.startArgs(this.name.slice(0, brace).trim());
          this.text(rest);
        }
        return;
      }
      case "args": {
        if (this.scanner.state === "closed") {
          this.scanner.push(s);
          return;
        }
        this.argsText += s;
        const end = this.scanner.push(s);
        const frag = end >= 0 ? s.slice(0, end) : s;
        if (frag) this.events.push({ type: "tool_call_args", index: this.callIndex, text: frag });
        if (end >= 0) {
          this.argsText = this.argsText.slice(0, this.argsText.length - (s.length - end));
          this.endArgs();
        }
        return;
      }
      case "legacy": {
        this.argsText += s;
        if (this.scanner.push(s) >= 0) this.endLegacy();
        return;
      }
      case "skip":
        this.argsText += s;
        return;
    }
  }

  private startArgs(name: string): void {
    this.callIndex++;
    if (!FUNCTION_NAME_RE.test(name)) {
      this.events.push({
        type: "error",
        code: "tool-name-invalid",
        index: this.callIndex,
        message: `tool call ${this.callIndex}: ${
          JSON.stringify(name)
        } is not a valid function name (^[a-zA-Z0-9_-]{1,64}$)`,
        text: name,
      });
      this.mode = "skip";
      this.argsText = "";
      this.callOpen = false;
      return;
    }
    this.events.push({ type: "tool_call_start", index: this.callIndex, id: this.newId(this.callIndex), name });
    this.mode = "args";
    this.argsText = "";
    this.scanner = new JsonCloseScanner();
    this.callOpen = true;
  }

  private endArgs(): void {
    const text = this.argsText.trim();
    this.callOpen = false;
    try {
      JSON.parse(text);
    } catch (e) {
      this.events.push({
        type: "error",
        code: "tool-arguments-invalid",
        index: this.callIndex,
        message: `tool call ${this.callIndex}: arguments are not valid JSON (${(e as Error).message})`,
        text,
      });
      return;
    }
    this.events.push({ type: "tool_call_end", index: this.callIndex, arguments: text });
  }

  private endLegacy(): void {
    const text = this.argsText.trim();
    this.mode = "skip";
    this.argsText = "";
    let list: unknown;
    try {
      list = JSON.parse(text);
    } catch (e) {
      this.events.push({
        type: "error",
        code: "tool-arguments-invalid",
        index: this.callIndex + 1,
        message: `tool call list is not valid JSON (${(e as Error).message})`,
        text,
      });
      return;
    }
    for (const call of Array.isArray(list) ? list : [list]) {
      const name = (call as any)?.name;
      this.callIndex++;
      if (typeof name !== "string" || !FUNCTION_NAME_RE.test(name)) {
        this.events.push({
          type: "error",
          code: "tool-name-invalid",
          index: this.callIndex,
          message: `tool call ${this.callIndex}: ${JSON.stringify(name)} is not a valid function name`,
          text: JSON.stringify(call),
        });
        continue;
      }
      const args = (call as any).arguments ?? {};
      const argsText = typeof args === "string" ? args : pyDumps(args);
      this.events.push({ type: "tool_call_start", index: this.callIndex, id: this.newId(this.callIndex), name });
      this.events.push({ type: "tool_call_args", index: this.callIndex, text: argsText });
      this.events.push({ type: "tool_call_end", index: this.callIndex, arguments: argsText });
    }
  }

  /** A call ends at the next [TOOL_CALLS] or at the end: report what did not close properly. */
  private closeCall(atEnd: boolean): void {
    if (this.mode === "name") {
      const name = this.name.trim();
      this.events.push({
        type: "error",
        code: "tool-call-truncated",
        index: this.callIndex + 1,
        message: `tool call ${this.callIndex + 1} ended inside its name ${JSON.stringify(name)} before [ARGS]`,
        text: name,
      });
      this.callIndex++;
    } else if (this.mode === "legacy") {
      this.events.push({
        type: "error",
        code: "tool-call-truncated",
        index: this.callIndex + 1,
        message: "the tool call list ended before its JSON closed",
        text: this.argsText.trim(),
      });
    } else if (this.mode === "args") {
      if (this.callOpen) {
        const st = this.scanner.state;
        if (st === "scalar") this.endArgs();
        else if (st === "start") {
          this.callOpen = false;
          this.events.push({
            type: "error",
            code: "tool-call-truncated",
            index: this.callIndex,
            message: `tool call ${this.callIndex} has no arguments`,
            text: "",
          });
        } else {
          this.callOpen = false;
          this.events.push({
            type: "error",
            code: "tool-call-truncated",
            index: this.callIndex,
            message: `tool call ${this.callIndex} ended before its arguments' JSON closed`,
            text: this.argsText.trim(),
          });
        }
      } else if (this.scanner.trailing) {
        this.events.push({
          type: "error",
          code: "tool-arguments-trailing",
          index: this.callIndex,
          message: `tool call ${this.callIndex}: text after the arguments' JSON`,
          text: this.scanner.trailing,
        });
      }
    }
    if (this.mode !== "content" && this.mode !== "think") this.mode = "content";
  }

  /** Merge adjacent text events of one kind (a multi-token push gives the same events as token-by-token). */
  private coalesce(events: StreamEvent[]): StreamEvent[] {
    const out: StreamEvent[] = [];
    for (const e of events) {
      const last = out[out.length - 1];
      if (last && (e.type === "content" || e.type === "reasoning") && last.type === e.type) last.text += e.text;
      else if (last && e.type === "tool_call_args" && last.type === "tool_call_args" && last.index === e.index) {
        last.text += e.text;
      } else out.push({ ...e });
    }
    return out;
  }
}
