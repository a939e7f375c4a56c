/** Stop sequences on detokenized answer text (OpenAI `stop`). Text that could still turn into a stop sequence is
 * held back until the next text decides it, so a streamed answer never shows a stop sequence, or a piece of one,
 * that a one-shot answer would not. Example with stop "END": push("abcE") → "abc" (holds "E"); push("ND!") →
 * stopped, nothing more. */

export interface StopResult {
  /** Text that is safe to show. */
  text: string;
  /** A stop sequence matched; `text` ends right before it and nothing after it may be shown. */
  stopped: boolean;
  /** Which one (the earliest in the text), when stopped. */
  matched?: string;
}

export class StopMatcher {
  private held = "";
  private readonly longest: number;

  constructor(private readonly stops: readonly string[]) {
    this.longest = Math.max(0, ...stops.map((s) => s.length));
  }

  push(text: string): StopResult {
    const buf = this.held + text;
    let cut = -1;
    let matched = "";
    for (const s of this.stops) {
      const i = buf.indexOf(s);
      if (i >= 0 && (cut < 0 || i < cut)) [cut, matched] = [i, s];
    }
    if (cut >= 0) {
      this.held = "";
      return { text: buf.slice(0, cut), stopped: true, matched };
    }
    const keep = this.heldSuffix(buf);
    this.held = buf.slice(buf.length - keep);
    return { text: buf.slice(0, buf.length - keep), stopped: false };
  }

  /** Text held back at the end of a segment or of the output: it did not become a stop sequence. */
  flush(): string {
    const t = this.held;
    this.held = "";
    return t;
  }

  /** Length of the longest suffix of `buf` that is a proper prefix of some stop sequence. */
  private heldSuffix(buf: string): number {
    for (let k = Math.min(this.longest - 1, buf.length); k > 0; k--) {
      const tail = buf.slice(buf.length - k);
      if (this.stops.some((s) => s.startsWith(tail))) return k;
    }
    return 0;
  }
}
