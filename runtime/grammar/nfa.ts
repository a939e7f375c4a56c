// A byte NFA built back to front, and the DFA over it built on demand (subset construction one transition at a
// time, memoised), which is the ByteGrammar the token masker walks. Building back to front means every
// construct is compiled *into* the state that follows it — `compile(node, next) → start` — so shared tails and
// loops (array items, optional properties) are plain edges, not copies.
//
// Worked example: "ab" | "ac" compiled into accept state 0 gives b→0 from state 1, c→0 from state 2, a→1 from
// state 3, a→2 from state 4, and state 5 with ε to 3 and 4. The DFA start is closure{5} = {3,4,5}; reading `a`
// leads to {1,2}; reading `b` from there to {0}, which holds the accept state, so isComplete is true.

import { MemoisedGrammar } from "./memo-grammar.ts";

/** Bytes an edge accepts: a 256-entry table of 0/1. */
export type ByteSet = Uint8Array;

export const byteSet = (pred: (b: number) => boolean): ByteSet =>
  Uint8Array.from({ length: 256 }, (_, b) => (pred(b) ? 1 : 0));
// one shared set per byte: literals are most of a grammar's edges, and a table each made a 50k-string enum 128 MiB
const ONE_BYTE: readonly ByteSet[] = Array.from({ length: 256 }, (_, c) => byteSet((b) => b === c));
export const oneByte = (c: number): ByteSet => ONE_BYTE[c];

/** A grammar needed more DFA states than its budget allows (the schema is too large or too loose to hold). */
export class GrammarLimitError extends RangeError {
  override name = "GrammarLimitError";
}

/** What building one NFA may cost. Each state is two small arrays (about 100 bytes with its edges), so the state
 * budget bounds the bytes too; the time budget is checked every 1024 states. */
export interface NfaBudget {
  maxStates: number;
  maxMs: number;
}

export const DEFAULT_NFA_BUDGET: NfaBudget = { maxStates: 100_000, maxMs: 1000 };
/** Bytes one NFA state holds, roughly (its ε list, its edge list and their entries), for cache accounting. */
export const NFA_STATE_BYTES = 100;

export class Nfa {
  readonly epsilon: number[][] = [];
  readonly edges: Array<Array<[ByteSet, number]>> = [];
  /** The one accepting state: everything compiles into it eventually. */
  readonly accept: number;
  readonly #deadline: number;

  constructor(readonly budget: NfaBudget = { maxStates: Infinity, maxMs: Infinity }) {
    this.#deadline = performance.now() + budget.maxMs;
    this.accept = this.state();
  }

  get numStates(): number {
    return this.epsilon.length;
  }

  state(): number {
    const n = this.epsilon.length;
    if (n >= this.budget.maxStates) {
      throw new GrammarLimitError(`it needs more than ${this.budget.maxStates} grammar states`);
    }
    if ((n & 1023) === 1023 && performance.now() > this.#deadline) {
      throw new GrammarLimitError(`building its grammar took more than ${this.budget.maxMs} ms`);
    }
    this.epsilon.push([]);
    this.edges.push([]);
    return n;
  }

  /** A new state that reads `set` into `next`. */
  on(set: ByteSet, next: number): number {
    const s = this.state();
    this.edges[s].push([set, next]);
    return s;
  }

  /** A new state that may go to any of `nexts` without reading. */
  either(...nexts: number[]): number {
    const s = this.state();
    this.epsilon[s].push(...nexts);
    return s;
  }

  /** The bytes of `text` in sequence, then `next`. */
  literal(bytes: Uint8Array, next: number): number {
    let s = next;
    for (let i = bytes.length - 1; i >= 0; i--) s = this.on(oneByte(bytes[i]), s);
    return s;
  }
}

/** The DFA of an NFA, states interned as sorted sets of NFA states and built as they are reached. */
export class LazyDfa extends MemoisedGrammar {
  readonly start: number;
  readonly #sets: number[][] = [];
  readonly #ids = new Map<string, number>();
  readonly #accepting: boolean[] = [];

  constructor(readonly nfa: Nfa, nfaStart: number, private readonly maxStates = 100_000) {
    super();
    this.start = this.#intern(this.#closure([nfaStart]));
  }

  get numStates(): number {
    return this.#sets.length;
  }

  /** Roughly what this grammar holds: the NFA, and per DFA state its transition row (1 KiB) and NFA-state set. */
  get approxBytes(): number {
    let setBytes = 0;
    for (const set of this.#sets) setBytes += 8 * set.length + 64;
    return this.nfa.numStates * NFA_STATE_BYTES + this.#sets.length * 1024 + setBytes;
  }

  protected compute(state: number, byte: number): number {
    const targets: number[] = [];
    for (const s of this.#sets[state]) for (const [set, to] of this.nfa.edges[s]) if (set[byte] === 1) targets.push(to);
    return targets.length === 0 ? -1 : this.#intern(this.#closure(targets));
  }

  isComplete(state: number): boolean {
    return this.#accepting[state];
  }

  #closure(seeds: number[]): number[] {
    const seen = new Set<number>(seeds);
    const todo = [...seeds];
    while (todo.length > 0) {
      for (const t of this.nfa.epsilon[todo.pop()!]) {
        if (!seen.has(t)) {
          seen.add(t);
          todo.push(t);
        }
      }
    }
    // only states that read bytes or accept matter for what comes next: dropping pure ε states merges equal sets
    return [...seen].filter((s) => s === this.nfa.accept || this.nfa.edges[s].length > 0).sort((a, b) => a - b);
  }

  #intern(set: number[]): number {
    const key = set.join(",");
    let id = this.#ids.get(key);
    if (id === undefined) {
      if (this.#sets.length >= this.maxStates) {
        throw new GrammarLimitError(`The grammar needs more than ${this.maxStates} DFA states; simplify the schema`);
      }
      id = this.#sets.length;
      this.#sets.push(set);
      this.#ids.set(key, id);
      this.#accepting.push(set.includes(this.nfa.accept));
      this.addStateRow();
    }
    return id;
  }
}
