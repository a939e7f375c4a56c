// What holding tool-call arguments to their schemas costs, for a tool set shaped like Codex's (nine function tools,
// none strict) on a 131k-token synthetic vocabulary: per tool, the schema's compile time (on the runtime's grammar
// worker, once per distinct schema) and, walking a typical arguments document byte by byte, the masks the engine
// builds on its own thread the first time a state is reached (then cached), against the JSON-object grammar that
// held these calls before.   npx bun bench/lab/tool-schema-masks.ts
import { compileJob } from "../../runtime/grammar/compile-job.ts";
import { JsonGrammar } from "../../runtime/grammar/json-grammar.ts";
import { LazyDfa } from "../../runtime/grammar/lazy-dfa.ts";
import { type ByteGrammar, TokenMasker, TokenTrie } from "../../runtime/grammar/token-mask.ts";
import { SYNTHETIC_VOCAB_SIZE, syntheticVocab } from "./synthetic-vocab.ts";

const str = { type: "string" };
const num = { type: "number" };
const bool = { type: "boolean" };
const object = (properties: Record<string, unknown>, required: string[]) => ({
  type: "object",
  properties,
  required,
  additionalProperties: false,
});
const option = object({ label: str, description: str }, ["label", "description"]);
const question = object({ header: str, id: str, options: { type: "array", items: option }, question: str }, [
  "id",
  "header",
  "question",
  "options",
]);
/** [name, parameters, a typical arguments document]. */
const TOOLS: [string, unknown, string][] = [
  [
    "exec_command",
    object({
      cmd: str,
      justification: str,
      login: bool,
      max_output_tokens: num,
      prefix_rule: { type: "array", items: str },
      sandbox_permissions: { type: "string", enum: ["use_default", "require_escalated"] },
      shell: str,
      tty: bool,
      workdir: str,
      yield_time_ms: num,
    }, ["cmd"]),
    '{"cmd": "ls -la src", "workdir": "/work/app", "yield_time_ms": 1000}',
  ],
  [
    "write_stdin",
    object({ chars: str, max_output_tokens: num, session_id: num, yield_time_ms: num }, [
      "session_id",
    ]),
    '{"chars": "q\\n", "session_id": 3}',
  ],
  [
    "request_user_input",
    object({ questions: { type: "array", items: question } }, ["questions"]),
    '{"questions": [{"header": "Scope", "id": "scope", "options": [{"label": "src (Recommended)", ' +
    '"description": "Only the sources."}, {"label": "all", "description": "All."}], "question": "Which folder?"}]}',
  ],
  ["view_image", object({ path: str }, ["path"]), '{"path": "docs/diagram.png"}'],
  ["close_agent", object({ target: str }, ["target"]), '{"target": "agent-1"}'],
  ["get_goal", object({}, []), "{}"],
  ["create_goal", object({ objective: str, token_budget: { type: "integer" } }, ["objective"]), '{"objective": "x"}'],
  [
    "update_goal",
    object({ status: { type: "string", enum: ["complete", "blocked", "paused"] } }, ["status"]),
    '{"status": "complete"}',
  ],
  ["spawn_agent", object({ message: str, model: str, reasoning_effort: str }, ["message"]), '{"message": "go"}'],
];

const toks = syntheticVocab();
const trie = new TokenTrie(SYNTHETIC_VOCAB_SIZE, (id) => toks[id]);
const enc = new TextEncoder();

/** Walks `doc` byte by byte, building each reached state's mask: [distinct states, ms for first masks, ms again]. */
function walk(masker: TokenMasker, grammar: ByteGrammar, doc: string): [number, number, number] {
  const seen = new Set<number>();
  const run = () => {
    const t0 = performance.now();
    let state = grammar.start;
    for (const b of enc.encode(doc)) {
      seen.add(state);
      masker.allowed(state);
      state = grammar.step(state, b);
      if (state < 0) throw new Error(`the document ${doc} leaves the grammar`);
    }
    return performance.now() - t0;
  };
  const first = run();
  return [seen.size, first, run()];
}

const REPEATS = 5;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const spread = (xs: number[]) =>
  `${median(xs).toFixed(1)} (${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})`;
console.log(
  `median (min–max) of ${REPEATS} runs, each with fresh grammars and maskers; the object grammar's masks are`,
);
console.log("cached once per tokenizer in the runtime (warm() at start), so its first-mask column is paid once only");
console.log("tool                 compile ms         states  first masks ms         again ms       | object: first ms");
const totals = { compile: [] as number[], first: [] as number[], object: [] as number[] };
for (const [name, parameters, doc] of TOOLS) {
  const rows = { compile: [] as number[], first: [] as number[], again: [] as number[], object: [] as number[] };
  let states = 0;
  for (let r = 0; r < REPEATS; r++) {
    const t0 = performance.now();
    const { nfa, start } = compileJob({ kind: "schema", schemaText: JSON.stringify(parameters) });
    rows.compile.push(performance.now() - t0);
    const dfa = new LazyDfa(nfa, start, 10_000);
    const [n, first, again] = walk(new TokenMasker(dfa, trie), dfa, doc);
    states = n;
    rows.first.push(first);
    rows.again.push(again);
    const json = new JsonGrammar();
    rows.object.push(walk(new TokenMasker(json, trie), json, doc)[1]);
    totals.compile[r] = (totals.compile[r] ?? 0) + rows.compile[r];
    totals.first[r] = (totals.first[r] ?? 0) + first;
    totals.object[r] = (totals.object[r] ?? 0) + rows.object[r];
  }
  console.log(
    `${name.padEnd(20)} ${spread(rows.compile).padEnd(18)} ${String(states).padStart(6)}  ${
      spread(rows.first).padEnd(22)
    } ${spread(rows.again).padEnd(14)} | ${spread(rows.object)}`,
  );
}
console.log(
  `all nine: compile ${spread(totals.compile)} ms (grammar worker), first masks ${
    spread(totals.first)
  } ms (engine thread, once per schema while cached), object grammar ${spread(totals.object)} ms`,
);
