// Constrained decoding cost on a vocabulary the size of the real one (131072 tokens, synthetic: 256 bytes plus
// word-like tokens with JSON punctuation): trie build, first and cached mask per JSON grammar state, and the
// per-row cost of applying a mask.   npx bun bench/lab/constrained-masks.ts
import { JsonGrammar } from "../../runtime/grammar/json-grammar.ts";
import { TokenMasker, TokenTrie } from "../../runtime/grammar/token-mask.ts";
import { SYNTHETIC_VOCAB_SIZE as V, syntheticVocab } from "./synthetic-vocab.ts";
const enc = new TextEncoder();
const toks = syntheticVocab();
let t = performance.now();
const trie = new TokenTrie(V, (id) => toks[id]);
console.log("trie build", (performance.now() - t).toFixed(1), "ms, nodes", trie.numNodes);
const g = new JsonGrammar();
const m = new TokenMasker(g, trie);
const at = (text: string) => g.stepAll(g.start, enc.encode(text));
for (
  const [name, text] of [
    ["start", ""],
    ["after {", "{"],
    ["in key string", '{"ab'],
    ["colon", '{"a"'],
    ["value", '{"a":'],
    ["in value string", '{"a":"xy'],
    ["in number", '{"a":12'],
    ["after value", '{"a":true'],
  ] as const
) {
  const s = at(text);
  t = performance.now();
  const mask = m.allowed(s);
  const first = performance.now() - t;
  t = performance.now();
  m.allowed(s);
  const cached = performance.now() - t;
  console.log(
    name.padEnd(16),
    "first",
    first.toFixed(2),
    "ms  cached",
    cached.toFixed(3),
    "ms  allowed",
    mask.bits.reduce((a, b) => a + b, 0),
  );
}
const logits = new Float32Array(V).map((_, i) => (i % 97) / 97);
const row = new Float32Array(V);
/** Per-row cost after JIT warm-up: writing only the listed ids (what the sampler does) vs a pass over the table. */
function perRow(f: () => void): number {
  for (let w = 0; w < 300; w++) f();
  const t0 = performance.now();
  for (let r = 0; r < 1000; r++) f();
  return (performance.now() - t0) / 1000;
}
for (const [name, text] of [["structural (after {)", "{"], ["in-string", '{"a":"xy']] as const) {
  const mask = m.allowed(at(text));
  const { ids, bits } = mask;
  const listed = perRow(() => {
    if (mask.complement) {
      row.set(logits);
      for (let i = 0; i < ids.length; i++) row[ids[i]] = -Infinity;
    } else {
      row.fill(-Infinity);
      for (let i = 0; i < ids.length; i++) row[ids[i]] = logits[ids[i]];
    }
  });
  const table = perRow(() => {
    for (let i = 0; i < V; i++) row[i] = bits[i] === 1 ? logits[i] : -Infinity;
  });
  console.log(
    `mask apply per row, ${name}: ${listed.toFixed(3)} ms with the id list (${ids.length} ids${
      mask.complement ? " blocked" : " allowed"
    }), ${table.toFixed(3)} ms as a table pass`,
  );
}
