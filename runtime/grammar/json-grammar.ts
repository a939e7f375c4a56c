// JSON (RFC 8259) as a byte-level pushdown automaton, for constrained decoding ("response_format":
// {"type": "json_object"}). The model's tokens are byte strings, so the automaton eats bytes: every JSON
// structural character is ASCII, and inside strings any byte ≥ 0x20 other than `"` and `\` is content (UTF-8
// validity is left to the detokenizer, which turns a broken sequence into U+FFFD — still valid JSON).
//
// A state is (mode, open containers, whitespace run). States are interned to small integers so the token masker
// can memoise transitions and whole masks per state: the automaton is deterministic, so a state's mask never
// changes. Worked example, document `{"a":[1]}`:
//   start TOP ─{→ KEY_OR_CLOSE "o" ─"→ KEY_STR "o" ─a→ KEY_STR ─"→ COLON ─:→ VALUE ─[→ VALUE_OR_CLOSE "oa"
//   ─1→ INT "oa" ─]→ (the number ends: ] is read in AFTER_VALUE) AFTER_VALUE "o" ─}→ AFTER_VALUE "" = complete.
// Limits that keep a sampled document finite: at most MAX_WS_RUN whitespace bytes in a row, MAX_DEPTH open
// containers.

import { MemoisedGrammar } from "./memo-grammar.ts";

export const MAX_WS_RUN = 16;
export const MAX_DEPTH = 32;

const enum Mode {
  Top, // before the top-level object: whitespace or `{`
  Value, // a value must come
  ValueOrClose, // just after `[`: a value or `]`
  KeyOrClose, // just after `{`: a key or `}`
  Key, // after `,` in an object: a key
  Colon, // after a key
  AfterValue, // after a value: `,` or the closing bracket, or nothing more at the top level
  Str, // in a value string
  StrEsc, // after `\` in a value string
  StrU1,
  StrU2,
  StrU3,
  StrU4, // in \uXXXX of a value string, that many hex digits to go… (U1 = 1 read)
  KeyStr,
  KeyStrEsc,
  KeyStrU1,
  KeyStrU2,
  KeyStrU3,
  KeyStrU4, // the same inside a key
  Minus, // after `-`
  Zero, // a number's integer part is 0
  Int, // in the integer digits
  Dot, // after `.`
  Frac, // in the fraction digits
  Exp, // after e/E
  ExpSign, // after e+ / e-
  ExpDigits, // in the exponent digits
  T1,
  T2,
  T3, // t|r|u|e: bytes of "true" read so far
  F1,
  F2,
  F3,
  F4,
  N1,
  N2,
  N3,
}

const LITERALS: Array<[Mode, number, Mode | null]> = [
  [Mode.T1, 0x72, Mode.T2],
  [Mode.T2, 0x75, Mode.T3],
  [Mode.T3, 0x65, null],
  [Mode.F1, 0x61, Mode.F2],
  [Mode.F2, 0x6c, Mode.F3],
  [Mode.F3, 0x73, Mode.F4],
  [Mode.F4, 0x65, null],
  [Mode.N1, 0x75, Mode.N2],
  [Mode.N2, 0x6c, Mode.N3],
  [Mode.N3, 0x6c, null],
];
const literalNext = new Map(LITERALS.map(([m, byte, next]) => [m, { byte, next }]));

const isWs = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
const isDigit = (b: number) => b >= 0x30 && b <= 0x39;
const isHex = (b: number) => isDigit(b) || (b >= 0x61 && b <= 0x66) || (b >= 0x41 && b <= 0x46);
const ESCAPABLE = new Set([0x22, 0x5c, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74, 0x75]);
/** Modes in which a number may end (the next byte is then read in AfterValue). */
const NUMBER_END = new Set([Mode.Zero, Mode.Int, Mode.Frac, Mode.ExpDigits]);

interface State {
  mode: Mode;
  /** Open containers, innermost last: "o" object, "a" array. */
  stack: string;
  wsRun: number;
}

/** One automaton over interned states; share one per process (states and transitions only grow). */
export class JsonGrammar extends MemoisedGrammar {
  readonly start: number;
  readonly #states: State[] = [];
  readonly #ids = new Map<string, number>();

  constructor() {
    super();
    this.start = this.#intern(Mode.Top, "", 0);
  }

  get numStates(): number {
    return this.#states.length;
  }

  /** True when the bytes so far form a whole document (end of sequence may come now). */
  isComplete(state: number): boolean {
    const s = this.#states[state];
    return s.stack === "" && s.mode === Mode.AfterValue;
  }

  #intern(mode: Mode, stack: string, wsRun: number): number {
    const key = `${mode}|${wsRun}|${stack}`;
    let id = this.#ids.get(key);
    if (id === undefined) {
      id = this.#states.length;
      this.#states.push({ mode, stack, wsRun });
      this.#ids.set(key, id);
      this.addStateRow();
    }
    return id;
  }

  protected compute(state: number, b: number): number {
    const s = this.#states[state];
    const { mode, stack } = s;
    const to = (m: Mode, st = stack) => this.#intern(m, st, 0);
    const ws = () => (s.wsRun < MAX_WS_RUN ? this.#intern(mode, stack, s.wsRun + 1) : -1);
    const open = (
      kind: "o" | "a",
    ) => (stack.length < MAX_DEPTH ? to(kind === "o" ? Mode.KeyOrClose : Mode.ValueOrClose, stack + kind) : -1);
    const value = (): number => {
      if (b === 0x7b) return open("o");
      if (b === 0x5b) return open("a");
      if (b === 0x22) return to(Mode.Str);
      if (b === 0x2d) return to(Mode.Minus);
      if (b === 0x30) return to(Mode.Zero);
      if (isDigit(b)) return to(Mode.Int);
      if (b === 0x74) return to(Mode.T1);
      if (b === 0x66) return to(Mode.F1);
      if (b === 0x6e) return to(Mode.N1);
      return -1;
    };
    const top = stack[stack.length - 1];
    const afterValue = (): number => {
      if (isWs(b)) return this.#intern(Mode.AfterValue, stack, 1);
      if (b === 0x2c && top) return to(top === "o" ? Mode.Key : Mode.Value);
      if ((b === 0x7d && top === "o") || (b === 0x5d && top === "a")) return to(Mode.AfterValue, stack.slice(0, -1));
      return -1;
    };
    switch (mode) {
      case Mode.Top:
        return isWs(b) ? ws() : b === 0x7b ? open("o") : -1;
      case Mode.Value:
        return isWs(b) ? ws() : value();
      case Mode.ValueOrClose:
        return isWs(b) ? ws() : b === 0x5d ? to(Mode.AfterValue, stack.slice(0, -1)) : value();
      case Mode.KeyOrClose:
        return isWs(b)
          ? ws()
          : b === 0x22
          ? to(Mode.KeyStr)
          : b === 0x7d
          ? to(Mode.AfterValue, stack.slice(0, -1))
          : -1;
      case Mode.Key:
        return isWs(b) ? ws() : b === 0x22 ? to(Mode.KeyStr) : -1;
      case Mode.Colon:
        return isWs(b) ? ws() : b === 0x3a ? to(Mode.Value) : -1;
      case Mode.AfterValue:
        return isWs(b) ? ws() : afterValue();
      case Mode.Str:
      case Mode.KeyStr: {
        const inKey = mode === Mode.KeyStr;
        if (b === 0x22) return to(inKey ? Mode.Colon : Mode.AfterValue);
        if (b === 0x5c) return to(inKey ? Mode.KeyStrEsc : Mode.StrEsc);
        return b >= 0x20 ? to(mode) : -1;
      }
      case Mode.StrEsc:
      case Mode.KeyStrEsc: {
        const inKey = mode === Mode.KeyStrEsc;
        if (!ESCAPABLE.has(b)) return -1;
        return b === 0x75 ? to(inKey ? Mode.KeyStrU1 : Mode.StrU1) : to(inKey ? Mode.KeyStr : Mode.Str);
      }
      case Mode.StrU1:
      case Mode.StrU2:
      case Mode.StrU3:
      case Mode.KeyStrU1:
      case Mode.KeyStrU2:
      case Mode.KeyStrU3:
        return isHex(b) ? to(mode + 1) : -1;
      case Mode.StrU4:
        return isHex(b) ? to(Mode.Str) : -1;
      case Mode.KeyStrU4:
        return isHex(b) ? to(Mode.KeyStr) : -1;
      case Mode.Minus:
        return b === 0x30 ? to(Mode.Zero) : isDigit(b) ? to(Mode.Int) : -1;
      case Mode.Dot:
        return isDigit(b) ? to(Mode.Frac) : -1;
      case Mode.Exp:
        return b === 0x2b || b === 0x2d ? to(Mode.ExpSign) : isDigit(b) ? to(Mode.ExpDigits) : -1;
      case Mode.ExpSign:
        return isDigit(b) ? to(Mode.ExpDigits) : -1;
      case Mode.Zero:
      case Mode.Int:
      case Mode.Frac:
      case Mode.ExpDigits:
        if (isDigit(b) && mode !== Mode.Zero) return to(mode);
        if (b === 0x2e && (mode === Mode.Zero || mode === Mode.Int)) return to(Mode.Dot);
        if ((b === 0x65 || b === 0x45) && mode !== Mode.ExpDigits) return to(Mode.Exp);
        // the number ends here; the byte belongs to what follows it
        return NUMBER_END.has(mode) ? afterValue() : -1;
      default: {
        const lit = literalNext.get(mode);
        if (!lit || b !== lit.byte) return -1;
        return lit.next === null ? to(Mode.AfterValue) : to(lit.next);
      }
    }
  }
}
