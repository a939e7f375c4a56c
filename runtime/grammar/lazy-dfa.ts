// The DFA of a packed NFA, built on demand (subset construction one transition at a time, memoised): the
// ByteGrammar the token masker walks. DFA states are interned as sorted sets of NFA states.
//
// Worked example (the NFA of nfa.ts: "ab" | "ac" into accept state 0, start state 5): the DFA start is
// closure{5} = {3,4} (pure ε states dropped); reading `a` leads to {1,2}; reading `b` from there to {0}, which
// holds the accept state, so isComplete is true.
import { MemoisedGrammar } from "./memo-grammar.ts";
import { GrammarLimitError, packedBytes, type PackedNfa } from "./nfa.ts";

export class LazyDfa extends MemoisedGrammar {
  readonly start: number;
  readonly #sets: number[][] = [];
  readonly #ids = new Map<string, number>();
  readonly #accepting: boolean[] = [];

  constructor(readonly nfa: PackedNfa, nfaStart: number, private readonly maxStates = 100_000) {
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
    return packedBytes(this.nfa) + this.#sets.length * 1024 + setBytes;
  }

  protected compute(state: number, byte: number): number {
    const { edgeStart, edgeSet, edgeTo, sets } = this.nfa;
    const targets: number[] = [];
    for (const s of this.#sets[state]) {
      for (let e = edgeStart[s]; e < edgeStart[s + 1]; e++) {
        if (sets[256 * edgeSet[e] + byte] === 1) targets.push(edgeTo[e]);
      }
    }
    return targets.length === 0 ? -1 : this.#intern(this.#closure(targets));
  }

  isComplete(state: number): boolean {
    return this.#accepting[state];
  }

  #closure(seeds: number[]): number[] {
    const { epsilonStart, epsilonTo, edgeStart, accept } = this.nfa;
    const seen = new Set<number>(seeds);
    const todo = [...seeds];
    while (todo.length > 0) {
      const s = todo.pop()!;
      for (let i = epsilonStart[s]; i < epsilonStart[s + 1]; i++) {
        const t = epsilonTo[i];
        if (!seen.has(t)) {
          seen.add(t);
          todo.push(t);
        }
      }
    }
    // only states that read bytes or accept matter for what comes next: dropping pure ε states merges equal sets
    return [...seen].filter((s) => s === accept || edgeStart[s + 1] > edgeStart[s]).sort((a, b) => a - b);
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
