/**
 * An unambiguous rendering of ids for snapshots and debugging: control tokens as their names, and text that
 * merely looks like a control name escaped with a backslash (`\[INST]`), backslashes in text doubled. So
 * `[INST]` is always the control token and `\[INST]` is always the five characters a user typed.
 */
import type { Tokenizer } from "./tokenizer.ts";

const NAMES = /\[\/?[A-Z_]+\]|<\/?s>|<unk>|<pad>|<SPECIAL_\d+>/g;

export function escapeText(tok: Tokenizer, text: string): string {
  return text.replace(/\\/g, "\\\\").replace(NAMES, (m) => (tok.findControl(m) !== undefined ? "\\" + m : m));
}

export function renderIds(tok: Tokenizer, ids: ArrayLike<number>): string {
  let out = "";
  let run: number[] = [];
  const flush = () => {
    if (run.length) out += escapeText(tok, tok.decode(run));
    run = [];
  };
  for (let i = 0; i < ids.length; i++) {
    const name = tok.controlName(ids[i]);
    if (name === undefined) run.push(ids[i]);
    else {
      flush();
      out += name;
    }
  }
  flush();
  return out;
}
