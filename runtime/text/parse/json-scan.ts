/** Knows, character by character, when a streamed JSON object or array has closed (strings and escapes aware). */
export class JsonCloseScanner {
  private depth = 0;
  private inString = false;
  private escape = false;
  /** "start": nothing but whitespace yet; "open": inside an object/array; "closed": its last bracket seen;
   * "scalar": the value does not start with { or [, so only the end of the stream closes it. */
  state: "start" | "open" | "closed" | "scalar" = "start";
  /** Non-whitespace text seen after the value closed. */
  trailing = "";

  /** Feed text; returns the index in `text` just after the closing bracket if the value closed inside it, else -1. */
  push(text: string): number {
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (this.state === "closed") {
        if (!/\s/.test(c)) this.trailing += c;
        continue;
      }
      if (this.state === "scalar") continue;
      if (this.state === "start") {
        if (/\s/.test(c)) continue;
        if (c === "{" || c === "[") {
          this.state = "open";
          this.depth = 1;
        } else this.state = "scalar";
        continue;
      }
      if (this.inString) {
        if (this.escape) this.escape = false;
        else if (c === "\\") this.escape = true;
        else if (c === '"') this.inString = false;
        continue;
      }
      if (c === '"') this.inString = true;
      else if (c === "{" || c === "[") this.depth++;
      else if (c === "}" || c === "]") {
        this.depth--;
        if (this.depth === 0) {
          this.state = "closed";
          const rest = text.slice(i + 1);
          for (const r of rest) if (!/\s/.test(r)) this.trailing += r;
          return i + 1;
        }
      }
    }
    return -1;
  }
}
