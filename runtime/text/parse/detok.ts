/** Incremental detokenization: feed ids as they are generated, get text that never contains half a character. */
import type { ControlPolicy, Tokenizer } from "../tokenizer.ts";
import { Utf8Stream } from "../utf8.ts";

export class Detokenizer {
  private readonly utf8 = new Utf8Stream();
  constructor(private readonly tok: Tokenizer, private readonly policy: ControlPolicy = "drop") {}

  /** Text completed by these ids. Bytes of a character split across tokens wait for the rest. */
  push(ids: ArrayLike<number>): string {
    let out = "";
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (this.tok.isControl(id)) {
        // A control token ends a byte run, as in one-shot decoding (mistral-common decodes runs separately).
        out += this.utf8.flush();
        if (this.policy === "show") out += this.tok.controlName(id) ?? "";
      } else out += this.utf8.push(this.tok.tokenBytes(id));
    }
    return out;
  }

  /** End of the stream: bytes of an unfinished character become U+FFFD. */
  finish(): string {
    return this.utf8.flush();
  }
}
