// Reading SSE responses in tests: the raw frames (data events and comments) exactly as sent.
export interface SseFrame {
  /** "data" for `data: ...` events, "comment" for `: ...` lines. */
  kind: "data" | "comment";
  text: string;
}

/** Splits SSE text into frames; throws if any frame is not `data: ...` or `: ...` ended by a blank line. */
export function parseSse(text: string): SseFrame[] {
  if (text.length > 0 && !text.endsWith("\n\n")) {
    throw new Error(`SSE text does not end with a blank line: ${JSON.stringify(text.slice(-40))}`);
  }
  return text
    .split("\n\n")
    .slice(0, -1)
    .map((frame) => {
      if (frame.startsWith("data: ") && !frame.includes("\n")) return { kind: "data" as const, text: frame.slice(6) };
      if (frame.startsWith(": ") && !frame.includes("\n")) return { kind: "comment" as const, text: frame.slice(2) };
      throw new Error(`malformed SSE frame ${JSON.stringify(frame)}`);
    });
}

/** The JSON payloads of the data frames, [DONE] excluded. */
export function sseJson(frames: SseFrame[]): any[] {
  return frames.filter((f) => f.kind === "data" && f.text !== "[DONE]").map((f) => JSON.parse(f.text));
}

/** Reads a body incrementally; `until` reads until the text so far satisfies the predicate. */
export class StreamReader {
  text = "";
  done = false;
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();

  constructor(body: ReadableStream<Uint8Array>) {
    this.reader = body.getReader();
  }

  async until(pred: (text: string) => boolean): Promise<string> {
    while (!pred(this.text)) {
      const r = await this.reader.read();
      if (r.done) {
        this.done = true;
        throw new Error(`stream ended before the condition held; got ${JSON.stringify(this.text)}`);
      }
      this.text += this.decoder.decode(r.value, { stream: true });
    }
    return this.text;
  }

  async rest(): Promise<string> {
    for (;;) {
      const r = await this.reader.read();
      if (r.done) {
        this.done = true;
        return this.text;
      }
      this.text += this.decoder.decode(r.value, { stream: true });
    }
  }

  cancel(): Promise<void> {
    return this.reader.cancel("test cancelled");
  }
}
