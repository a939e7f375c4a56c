// Server-sent events from a fetch body: yields each event's `data` (lines joined by "\n") until `[DONE]` or the end.
// Events are separated by a blank line; a chunk may end mid-line, so the unfinished tail waits for the next one.
export async function* sseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const reader = body.getReader(), decoder = new TextDecoder();
  let buffer = "";
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
      let end: number;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const data = eventData(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (data === "[DONE]") return;
        if (data !== null) yield data;
      }
    }
  } finally {
    reader.releaseLock();
  }
}

/** The `data` of one event block, or null when it has none (comments such as keep-alives). */
export function eventData(block: string): string | null {
  const lines = block.split("\n").filter((l) => l.startsWith("data:"));
  if (lines.length === 0) return null;
  return lines.map((l) => l.slice(5).replace(/^ /, "")).join("\n");
}
