// JSON's lexical pieces as byte-NFA fragments (each compiled into the state that follows it, as nfa.ts builds):
// whitespace, strings, integers, numbers, and an object key that is none of a list of declared names. The schema
// grammar composes them.
import { byteSet, type Nfa, oneByte } from "./nfa.ts";

const isWs = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
const isDigit = (b: number) => b >= 0x30 && b <= 0x39;
export const WS = byteSet(isWs);
const DIGIT = byteSet(isDigit);
const DIGIT19 = byteSet((b) => b >= 0x31 && b <= 0x39);
const HEX = byteSet((b) => isDigit(b) || (b >= 0x61 && b <= 0x66) || (b >= 0x41 && b <= 0x46));
const isStringByte = (b: number) => b >= 0x20 && b !== 0x22 && b !== 0x5c;
const STRING_BYTE = byteSet(isStringByte);
const ESCAPE = byteSet((b) => [0x22, 0x5c, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74].includes(b));
const SIGN = byteSet((b) => b === 0x2b || b === 0x2d);
const EXP = byteSet((b) => b === 0x65 || b === 0x45);
const ch = (c: string) => oneByte(c.charCodeAt(0));
const QUOTE = 0x22, BACKSLASH = 0x5c;

/** What may follow a backslash inside a string (one escape), then `body`. */
function escapeInto(nfa: Nfa, body: number): number {
  const hex = nfa.on(HEX, nfa.on(HEX, nfa.on(HEX, nfa.on(HEX, body))));
  const escape = nfa.state();
  nfa.edges[escape].push([ESCAPE, body], [ch("u"), hex]);
  return escape;
}

/** The inside of a string after its opening quote: bytes and escapes, then the closing quote into `next`. */
function stringBody(nfa: Nfa, next: number): number {
  const body = nfa.state();
  nfa.edges[body].push([STRING_BYTE, body], [ch('"'), next], [ch("\\"), escapeInto(nfa, body)]);
  return body;
}

export function jsonString(nfa: Nfa, next: number): number {
  return nfa.on(ch('"'), stringBody(nfa, next));
}

export function jsonInteger(nfa: Nfa, next: number): number {
  const digits = nfa.state();
  nfa.edges[digits].push([DIGIT, digits]);
  nfa.epsilon[digits].push(next);
  const unsigned = nfa.either(nfa.on(ch("0"), next), nfa.on(DIGIT19, digits));
  return nfa.either(unsigned, nfa.on(ch("-"), unsigned));
}

export function jsonNumber(nfa: Nfa, next: number): number {
  const expDigits = nfa.state();
  nfa.edges[expDigits].push([DIGIT, expDigits]);
  nfa.epsilon[expDigits].push(next);
  const exp = nfa.on(EXP, nfa.either(nfa.on(SIGN, nfa.on(DIGIT, expDigits)), nfa.on(DIGIT, expDigits)));
  const fracDigits = nfa.state();
  nfa.edges[fracDigits].push([DIGIT, fracDigits]);
  nfa.epsilon[fracDigits].push(next, exp);
  const afterInt = nfa.either(next, nfa.on(ch("."), nfa.on(DIGIT, fracDigits)), exp);
  return jsonInteger(nfa, afterInt);
}

/** A string key equal to none of `declared` (as JSON.stringify writes them), then `next`: the declared names' bytes
 * as a trie, where a byte off the trie leads to any string body, and the closing quote is refused only where a
 * declared name ends. Worked example, declared "a" and "ab": `"b"`, `"abc"` and `""` pass; `"a"` and `"ab"` do
 * not. An escape leaves the trie (so `"\u0061"`, which spells "a", passes), except where a declared name itself
 * has one at that point: there the name's own escape is followed and no other escape is taken. */
export function otherKey(nfa: Nfa, declared: readonly string[], next: number): number {
  const free = stringBody(nfa, next);
  const enc = new TextEncoder();
  const node = (names: Uint8Array[], depth: number): number => {
    const s = nfa.state();
    const children = new Map<number, Uint8Array[]>();
    for (const name of names) {
      if (name.length > depth) children.set(name[depth], [...(children.get(name[depth]) ?? []), name]);
    }
    for (const [b, below] of children) nfa.edges[s].push([oneByte(b), node(below, depth + 1)]);
    nfa.edges[s].push([byteSet((b) => isStringByte(b) && !children.has(b)), free]);
    if (!children.has(BACKSLASH)) nfa.edges[s].push([oneByte(BACKSLASH), escapeInto(nfa, free)]);
    if (!names.some((n) => n.length === depth)) nfa.edges[s].push([oneByte(QUOTE), next]);
    return s;
  };
  return nfa.on(ch('"'), node(declared.map((n) => enc.encode(JSON.stringify(n).slice(1, -1))), 0));
}
