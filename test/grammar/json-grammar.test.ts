// The JSON automaton against JSON.parse (its spec): on generated documents and on random byte strings from a
// JSON-ish alphabet, a whole string is accepted and complete exactly when JSON.parse returns an object (within
// the whitespace-run and depth limits); every prefix of an accepted document is accepted. And the trie masker
// against its slow twin: a token is allowed exactly when stepping through its bytes one by one succeeds.
import { beforeAll, describe, expect, it } from "vitest";
import { JsonGrammar, MAX_DEPTH } from "../../runtime/grammar/json-grammar.ts";
import { TokenMasker, TokenTrie } from "../../runtime/grammar/token-mask.ts";
import { Rng } from "../../runtime/sampling/rng.ts";
import { loadTokenizer } from "../../runtime/text/index.ts";
import type { Tokenizer } from "../../runtime/text/tokenizer.ts";
import { fixtureDir } from "../helpers/fixtures.ts";

const enc = new TextEncoder();
const grammar = new JsonGrammar();

function run(text: string): { accepted: boolean; complete: boolean; rejectedAt: number } {
  let s = grammar.start;
  const bytes = enc.encode(text);
  for (let i = 0; i < bytes.length; i++) {
    s = grammar.step(s, bytes[i]);
    if (s < 0) return { accepted: false, complete: false, rejectedAt: i };
  }
  return { accepted: true, complete: grammar.isComplete(s), rejectedAt: -1 };
}

function parsesAsObject(text: string): boolean {
  try {
    const v = JSON.parse(text);
    return v !== null && typeof v === "object" && !Array.isArray(v);
  } catch {
    return false;
  }
}

/** A random JSON value as text, with random (bounded) whitespace and every number/escape form. */
function randomJson(rng: Rng, depth: number): string {
  const pick = <T>(xs: T[]) => xs[Math.floor(rng.nextFloat() * xs.length)];
  const ws = () => pick(["", "", " ", "\n  ", "\t"]);
  const str = () =>
    `"${
      Array.from({ length: Math.floor(rng.nextFloat() * 5) }, () =>
        pick(["a", "é", "\\n", '\\"', "\\u00e9", "\\/", " ", "日"])).join("")
    }"`;
  const kind = depth > 3 ? Math.floor(rng.nextFloat() * 4) : Math.floor(rng.nextFloat() * 7);
  switch (kind) {
    case 0:
      return str();
    case 1:
      return pick(["0", "-0", "12", "-3.25", "1e5", "2E-3", "0.5e+10", "7"]);
    case 2:
      return pick(["true", "false", "null"]);
    case 3:
      return pick(["{}", "[]"]);
    case 4:
    case 5: {
      const n = Math.floor(rng.nextFloat() * 4);
      return `{${ws()}${
        Array.from({ length: n }, () => `${str()}${ws()}:${ws()}${randomJson(rng, depth + 1)}${ws()}`).join(`,${ws()}`)
      }}`;
    }
    default: {
      const n = Math.floor(rng.nextFloat() * 4);
      return `[${ws()}${Array.from({ length: n }, () => `${randomJson(rng, depth + 1)}${ws()}`).join(`,${ws()}`)}]`;
    }
  }
}

describe("JsonGrammar", () => {
  it("accepts generated objects, every prefix of them, and calls only the whole document complete", () => {
    const rng = new Rng(11);
    for (let i = 0; i < 400; i++) {
      let doc = randomJson(rng, 0);
      if (!doc.startsWith("{")) doc = `{"v": ${doc}}`;
      expect(parsesAsObject(doc), doc).toBe(true);
      const r = run(doc);
      expect(r, doc).toEqual({ accepted: true, complete: true, rejectedAt: -1 });
      for (let cut = 0; cut < doc.length; cut++) {
        const prefix = run(doc.slice(0, cut));
        expect(prefix.accepted, `prefix ${JSON.stringify(doc.slice(0, cut))}`).toBe(true);
        expect(prefix.complete).toBe(false);
      }
    }
  });

  it("agrees with JSON.parse on random strings from a JSON-ish alphabet", () => {
    const rng = new Rng(5);
    const alphabet = [
      "{",
      "}",
      "[",
      "]",
      '"',
      ":",
      ",",
      " ",
      "a",
      "1",
      "0",
      "-",
      ".",
      "e",
      "+",
      "\\",
      "u",
      "t",
      "r",
      "n",
      "l",
      "f",
      "s",
    ];
    let objects = 0;
    for (let i = 0; i < 20000; i++) {
      const len = 1 + Math.floor(rng.nextFloat() * 12);
      let text = "{";
      for (let j = 1; j < len; j++) text += alphabet[Math.floor(rng.nextFloat() * alphabet.length)];
      const want = parsesAsObject(text);
      if (want) objects++;
      const r = run(text);
      expect(r.accepted && r.complete, text).toBe(want);
    }
    expect(objects).toBeGreaterThan(20); // the corpus did reach valid documents
  });

  it("rejects what JSON does not allow, at the offending byte", () => {
    const cases: Array<[string, number]> = [
      ["[1]", 0], // the top level must be an object
      ['{"a":01}', 6],
      ['{"a":1.}', 7],
      ['{"a":.5}', 5],
      ['{"a":+1}', 5],
      ['{"a":1e}', 7],
      ['{"a":tru}', 8],
      ['{"a":nul,', 8],
      ["{a:1}", 1],
      ["{'a':1}", 1],
      ['{"a" 1}', 5],
      ['{"a":1,}', 7],
      ['{"a":[1,]}', 8],
      ['{"a":1]', 6],
      ['{"a":"\\x"}', 7],
      ['{"a":"\\u12g4"}', 10],
      ['{"a":"tab\there"}', 9],
      ['{"a":1} x', 8],
      ['{"a":1},', 7],
    ];
    for (const [text, at] of cases) {
      expect(run(text), text).toEqual({ accepted: false, complete: false, rejectedAt: at });
    }
  });

  it("bounds whitespace runs and nesting so a sampled document stays finite", () => {
    expect(run(`{${" ".repeat(16)}}`).complete).toBe(true);
    expect(run(`{${" ".repeat(17)}}`).accepted).toBe(false);
    const deep = `{"a":${"[".repeat(MAX_DEPTH - 1)}${"]".repeat(MAX_DEPTH - 1)}}`;
    expect(run(deep).complete).toBe(true);
    expect(run(`{"a":${"[".repeat(MAX_DEPTH)}`).accepted).toBe(false);
  });
});

describe("TokenMasker", () => {
  let tok: Tokenizer;
  beforeAll(async () => {
    tok = await loadTokenizer(fixtureDir("tiny-mistral3-fp8"));
  });

  it("builds the trie so every token is found at the node its bytes lead to", () => {
    const trie = new TokenTrie(4, (id) => [enc.encode("ab"), enc.encode("a"), enc.encode("b"), new Uint8Array(0)][id]);
    expect(trie.numNodes).toBe(4); // root, a, ab, b
    const walk = (text: string) => {
      let node = 0;
      for (const b of enc.encode(text)) {
        let c = trie.firstChild[node];
        while (c !== -1 && trie.byte[c] !== b) c = trie.nextSibling[c];
        node = c;
      }
      return trie.tokenAt[node];
    };
    expect([walk("ab"), walk("a"), walk("b")]).toEqual([0, 1, 2]);
  });

  it("allows exactly the tokens whose bytes the grammar accepts one by one (the slow twin), in every state of real documents", () => {
    const trie = TokenTrie.fromTokenizer(tok);
    const masker = new TokenMasker(grammar, trie, 8);
    const rng = new Rng(3);
    let checked = 0;
    for (let d = 0; d < 12; d++) {
      const doc = `{"k": ${randomJson(rng, 1)}, "s": "x\\u00e9y", "n": -1.5e3}`;
      let state = grammar.start;
      for (const b of enc.encode(doc)) {
        const mask = masker.allowed(state).bits;
        for (let id = 0; id < tok.vocabSize; id++) {
          const slow = !tok.isControl(id) && grammar.stepAll(state, tok.tokenBytes(id)) >= 0 ? 1 : 0;
          if (mask[id] !== slow) {
            throw new Error(
              `token ${id} ${JSON.stringify(new TextDecoder().decode(tok.tokenBytes(id)))} in ${
                JSON.stringify(doc)
              }: mask ${mask[id]}, one by one ${slow}`,
            );
          }
        }
        checked++;
        state = grammar.step(state, b);
      }
      expect(grammar.isComplete(state)).toBe(true);
    }
    expect(checked).toBeGreaterThan(300);
    // no control token is ever allowed: end of sequence is the sampler's decision, not the trie's
    const mask = masker.allowed(grammar.start).bits;
    for (let id = 0; id < tok.vocabSize; id++) if (tok.isControl(id)) expect(mask[id]).toBe(0);
  });
});
