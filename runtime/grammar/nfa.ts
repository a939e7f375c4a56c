// A byte NFA built back to front, and packed into flat typed arrays once built (lazy-dfa.ts reads the packed form;
// a grammar worker transfers it to the engine's thread without copying). Building back to front means every
// construct is compiled *into* the state that follows it — `compile(node, next) → start` — so shared tails and
// loops (array items, optional properties) are plain edges, not copies.
//
// Worked example: "ab" | "ac" compiled into accept state 0 gives b→0 from state 1, c→0 from state 2, a→1 from
// state 3, a→2 from state 4, and state 5 with ε to 3 and 4.

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

  /** The NFA as flat arrays: each state's ε targets and edges are a range of one array (compressed rows), and each
   * distinct byte set is one 256-byte row of `sets`. Worked example, state 5 above with ε to 3 and 4 and states
   * 1..4 with one edge each: epsilonStart = [0,0,0,0,0,0,2], epsilonTo = [3,4]; edgeStart = [0,0,1,2,3,4,4];
   * edges of state 2 are edgeSet/edgeTo[1..2) = the row of `c` → 0. */
  pack(): PackedNfa {
    const n = this.numStates;
    const setIds = new Map<ByteSet, number>();
    const epsilonStart = new Int32Array(n + 1), edgeStart = new Int32Array(n + 1);
    for (let s = 0; s < n; s++) {
      epsilonStart[s + 1] = epsilonStart[s] + this.epsilon[s].length;
      edgeStart[s + 1] = edgeStart[s] + this.edges[s].length;
    }
    const epsilonTo = new Int32Array(epsilonStart[n]);
    const edgeSet = new Int32Array(edgeStart[n]), edgeTo = new Int32Array(edgeStart[n]);
    for (let s = 0; s < n; s++) {
      epsilonTo.set(this.epsilon[s], epsilonStart[s]);
      let e = edgeStart[s];
      for (const [set, to] of this.edges[s]) {
        let id = setIds.get(set);
        if (id === undefined) setIds.set(set, id = setIds.size);
        edgeSet[e] = id;
        edgeTo[e++] = to;
      }
    }
    const sets = new Uint8Array(256 * setIds.size);
    for (const [set, id] of setIds) sets.set(set, 256 * id);
    return { numStates: n, accept: this.accept, epsilonStart, epsilonTo, edgeStart, edgeSet, edgeTo, sets };
  }
}

/** A built NFA in flat arrays (see Nfa.pack); plain data, so it crosses to another thread as it is. */
export interface PackedNfa {
  numStates: number;
  accept: number;
  epsilonStart: Int32Array;
  epsilonTo: Int32Array;
  edgeStart: Int32Array;
  /** Per edge, the row of `sets` it reads. */
  edgeSet: Int32Array;
  edgeTo: Int32Array;
  /** 256 entries (0/1) per distinct byte set. */
  sets: Uint8Array;
}

/** The buffers of a packed NFA, to transfer it (postMessage) instead of copying. */
export const packedBuffers = (p: PackedNfa): ArrayBuffer[] =>
  [p.epsilonStart, p.epsilonTo, p.edgeStart, p.edgeSet, p.edgeTo, p.sets].map((a) => a.buffer as ArrayBuffer);

/** Bytes a packed NFA holds. */
export const packedBytes = (p: PackedNfa): number =>
  p.epsilonStart.byteLength + p.epsilonTo.byteLength + p.edgeStart.byteLength + p.edgeSet.byteLength +
  p.edgeTo.byteLength + p.sets.byteLength;
