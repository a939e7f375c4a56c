/**
 * The pre-tokenizer regex of tekken.json, written for tiktoken's Rust engine (fancy-regex), compiled as a JS
 * RegExp with the same meaning:
 * - `\s` / `\S` are rewritten to Unicode White_Space (Rust's meaning): JS's `\s` also matches U+FEFF and misses U+0085.
 * - possessive quantifiers (`*+`, `++`, `?+`, `}+`), which JS lacks, become greedy ones.
 */
import { TokenizerError } from "../tokenizer.ts";

const WS = "\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";

export function translatePattern(pattern: string): string {
  let out = "";
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "\\") {
      const n = pattern[i + 1];
      if (n === "s") out += inClass ? WS : `[${WS}]`;
      else if (n === "S") {
        if (inClass) throw new TokenizerError(`pre-tokenizer pattern: \\S inside a character class is not supported`);
        out += `[^${WS}]`;
      } else out += c + (n ?? "");
      i++;
      continue;
    }
    if (inClass) {
      if (c === "]") inClass = false;
      out += c;
      continue;
    }
    if (c === "[") {
      inClass = true;
      out += c;
      if (pattern[i + 1] === "^") out += pattern[++i];
      if (pattern[i + 1] === "]") out += pattern[++i]; // a leading ] is literal
      continue;
    }
    if (c === "+" && i > 0 && "*+?}".includes(pattern[i - 1]) && pattern[i - 2] !== "\\") continue; // possessive
    out += c;
  }
  return out;
}

export function compilePattern(pattern: string): RegExp {
  const src = translatePattern(pattern);
  try {
    return new RegExp(src, "gu");
  } catch (e) {
    throw new TokenizerError(
      `tekken.json config.pattern does not compile as a Unicode RegExp: ${(e as Error).message}`,
    );
  }
}
