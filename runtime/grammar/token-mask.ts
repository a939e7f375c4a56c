// Which tokens may come next under a byte-level grammar: a walk of the vocabulary's byte trie that carries the
// grammar state down and prunes a subtree as soon as its prefix is rejected, so a state where few bytes are
// allowed (after `{` only whitespace, `"` or `}`) touches few nodes. Masks are memoised per grammar state (the
// grammar is deterministic, so a state's mask never changes) in a small LRU: in-string states recur for
// every string at the same nesting, so most steps are a map lookup.
//
// Trie layout, worked example for tokens 5 = "ab", 6 = "a", 7 = "b":
//   node 0 (root) ─a→ node 1 (token 6) ─b→ node 2 (token 5);  root ─b→ node 3 (token 7)
//   firstChild[0] = 1, nextSibling[1] = 3, firstChild[1] = 2; tokenAt[1] = 6, tokenAt[2] = 5, tokenAt[3] = 7.
import type { Tokenizer } from "../text/tokenizer.ts";

export interface ByteGrammar {
  readonly start: number;
  step(state: number, byte: number): number;
  stepAll(state: number, bytes: ArrayLike<number>): number;
  isComplete(state: number): boolean;
}

export class TokenTrie {
  readonly firstChild: Int32Array;
  readonly nextSibling: Int32Array;
  readonly byte: Uint8Array;
  /** The token whose bytes end at this node, or -1; `sameBytes` chains further tokens with the same bytes. */
  readonly tokenAt: Int32Array;
  readonly sameBytes: Map<number, number[]>;
  readonly numNodes: number;

  /** `bytesOf(id)` for every id below `vocabSize`; ids with no bytes (control tokens) are left out. */
  constructor(readonly vocabSize: number, readonly tokenBytes: (id: number) => Uint8Array) {
    const bytesOf = tokenBytes;
    const first: number[] = [-1], next: number[] = [-1], byteOf: number[] = [0], token: number[] = [-1];
    const same = new Map<number, number[]>();
    for (let id = 0; id < vocabSize; id++) {
      const bytes = bytesOf(id);
      if (bytes.length === 0) continue;
      let node = 0;
      for (const b of bytes) {
        let child = first[node];
        while (child !== -1 && byteOf[child] !== b) child = next[child];
        if (child === -1) {
          child = byteOf.length;
          first.push(-1);
          next.push(first[node]);
          byteOf.push(b);
          token.push(-1);
          first[node] = child;
        }
        node = child;
      }
      if (token[node] === -1) token[node] = id;
      else same.set(node, [...(same.get(node) ?? []), id]);
    }
    this.firstChild = Int32Array.from(first);
    this.nextSibling = Int32Array.from(next);
    this.byte = Uint8Array.from(byteOf);
    this.tokenAt = Int32Array.from(token);
    this.sameBytes = same;
    this.numNodes = byteOf.length;
  }

  static fromTokenizer(tok: Tokenizer): TokenTrie {
    return new TokenTrie(tok.vocabSize, (id) => (tok.isControl(id) ? new Uint8Array(0) : tok.tokenBytes(id)));
  }
}

/** One state's allowed tokens: as a table, and as the shorter of the allowed and the blocked id lists, so that
 * masking a logits row writes only that many entries (a structural state allows a few hundred of 131k tokens,
 * an in-string state blocks a few thousand). */
export interface TokenMask {
  /** 1 = allowed, per token id. */
  readonly bits: Uint8Array;
  /** Allowed ids, or blocked ids when `complement`. */
  readonly ids: Int32Array;
  readonly complement: boolean;
}

const maskBytes = (m: TokenMask): number => m.bits.byteLength + m.ids.byteLength;

function tokenMask(bits: Uint8Array): TokenMask {
  let allowed = 0;
  for (let i = 0; i < bits.length; i++) allowed += bits[i];
  const complement = allowed > bits.length / 2;
  const ids = new Int32Array(complement ? bits.length - allowed : allowed);
  for (let i = 0, n = 0; i < bits.length; i++) if ((bits[i] === 1) !== complement) ids[n++] = i;
  return { bits, ids, complement };
}

/** Allowed-token masks of one grammar over one vocabulary. */
export class TokenMasker {
  readonly #cache = new Map<number, TokenMask>();
  // explicit DFS stacks, reused across walks
  #nodes = new Int32Array(1024);
  #states = new Int32Array(1024);

  constructor(readonly grammar: ByteGrammar, readonly trie: TokenTrie, private readonly cacheSize = 64) {}

  /** Roughly what this masker holds: its grammar's tables (when it says) and its memoised masks. */
  get approxBytes(): number {
    const grammarBytes = (this.grammar as { approxBytes?: number }).approxBytes ?? 0;
    let masks = 0;
    for (const m of this.#cache.values()) masks += maskBytes(m);
    return grammarBytes + masks;
  }

  /** True when the mask of `state` is memoised (the next allowed() is a lookup). */
  has(state: number): boolean {
    return this.#cache.has(state);
  }

  /** Tokens whose every byte the grammar accepts from `state`. Shared: do not modify it. */
  allowed(state: number): TokenMask {
    const hit = this.#cache.get(state);
    if (hit) {
      // refresh its place in the LRU order
      this.#cache.delete(state);
      this.#cache.set(state, hit);
      return hit;
    }
    const mask = tokenMask(this.#walk(state));
    if (this.#cache.size >= this.cacheSize) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(state, mask);
    return mask;
  }

  #walk(state: number): Uint8Array {
    const { firstChild, nextSibling, byte, tokenAt, sameBytes } = this.trie;
    const g = this.grammar;
    const mask = new Uint8Array(this.trie.vocabSize);
    let top = 0;
    for (let c = firstChild[0]; c !== -1; c = nextSibling[c]) top = this.#push(top, c, state);
    while (top > 0) {
      top--;
      const node = this.#nodes[top];
      const s = g.step(this.#states[top], byte[node]);
      if (s < 0) continue;
      const id = tokenAt[node];
      if (id >= 0) {
        mask[id] = 1;
        const more = sameBytes.get(node);
        if (more) { for (const other of more) mask[other] = 1; }
      }
      for (let c = firstChild[node]; c !== -1; c = nextSibling[c]) top = this.#push(top, c, s);
    }
    return mask;
  }

  #push(top: number, node: number, state: number): number {
    if (top === this.#nodes.length) {
      const nodes = new Int32Array(top * 2), states = new Int32Array(top * 2);
      nodes.set(this.#nodes);
      states.set(this.#states);
      this.#nodes = nodes;
      this.#states = states;
    }
    this.#nodes[top] = node;
    this.#states[top] = state;
    return top + 1;
  }
}
