// A vocabulary the size of the real one (131072 tokens) for grammar benchmarks, synthetic: ids below 1000 are
// control tokens (no bytes), the next 256 are single bytes, the rest word-like tokens of 1–9 letters with JSON
// punctuation mixed in, 60 % of them with a leading space. Deterministic for a seed.
import { Rng } from "../../runtime/sampling/rng.ts";

export const SYNTHETIC_VOCAB_SIZE = 131072;

export function syntheticVocab(seed = 1, size = SYNTHETIC_VOCAB_SIZE): Uint8Array[] {
  const rng = new Rng(seed);
  const enc = new TextEncoder();
  const letters = "abcdefghijklmnopqrstuvwxyz";
  const punct = ['"', ",", ":", "{", "}", "[", "]", ".", "\n", "  ", '":', '",', "0", "1", "2"];
  const toks: Uint8Array[] = [];
  for (let i = 0; i < size; i++) {
    if (i < 1000) {
      toks.push(new Uint8Array(0));
      continue;
    }
    if (i < 1256) {
      toks.push(new Uint8Array([i - 1000]));
      continue;
    }
    let s = rng.nextFloat() < 0.6 ? " " : "";
    const n = 1 + Math.floor(rng.nextFloat() * 9);
    for (let j = 0; j < n; j++) {
      s += rng.nextFloat() < 0.1
        ? punct[Math.floor(rng.nextFloat() * punct.length)]
        : letters[Math.floor(rng.nextFloat() * 26)];
    }
    toks.push(enc.encode(s));
  }
  return toks;
}
