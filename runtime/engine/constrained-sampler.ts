// Constrained decoding: a TokenSampler wrapper that lets the answer be only a JSON object ("response_format":
// {"type": "json_object"}) or a value of a JSON Schema ({"type": "json_schema"}, see schema-grammar.ts). Reasoning stays free: before the answer the model may open [THINK], and inside
// [THINK]…[/THINK] only end-of-sequence is withheld (an answer must follow); after [/THINK], or from the first
// token when it does not think, every token must continue the JSON document, and end-of-sequence is allowed once
// the object is closed. Draws go through the request's own sampler on the masked row, so temperature, top-p and
// seeds mean what they always do; reported log-probabilities are of the raw logits, like unconstrained ones.
//
// Worked example (ids: [THINK]=34, [/THINK]=35, EOS=2): prompt ends "[/INST]"; generated so far [34, 900, 35]:
// the phase went start → think (34) → answer (35), and the grammar is at its start state, so the next token must
// begin with optional whitespace and `{`. Forced tokens (the reasoning budget's [/THINK]) arrive through
// `generatedIds` like sampled ones, so one replay of the new ids keeps the phase right, across preemption too.
import { JsonGrammar } from "../text/grammar/json-grammar.ts";
import { compileSchema } from "../text/grammar/schema-grammar.ts";
import { TokenMasker, TokenTrie } from "../text/grammar/token-mask.ts";
import type { Tokenizer } from "../text/tokenizer.ts";
import type { TokenSampler } from "./sequence.ts";

export type ResponseFormat = { type: "json_object" } | { type: "json_schema"; schema: unknown };

/** Compiled schemas kept (their masks are the expensive part, and clients resend the same schema). */
const SCHEMA_CACHE_SIZE = 16;

/** One per served tokenizer: the vocabulary trie is built once, on the first constrained request; the JSON
 * grammar is shared, schema grammars are cached by their text. */
export class JsonConstraints {
  #trie: TokenTrie | null = null;
  #masker: TokenMasker | null = null;
  readonly #schemas = new Map<string, TokenMasker>();
  readonly #eos: number;
  readonly #think: number | undefined;
  readonly #endThink: number | undefined;

  constructor(private readonly tokenizer: Tokenizer) {
    this.#eos = tokenizer.eosId;
    this.#think = tokenizer.findControl("[THINK]");
    this.#endThink = tokenizer.findControl("[/THINK]");
  }

  get trie(): TokenTrie {
    this.#trie ??= TokenTrie.fromTokenizer(this.tokenizer);
    return this.#trie;
  }

  /** The JSON-object masker. */
  get masker(): TokenMasker {
    this.#masker ??= new TokenMasker(new JsonGrammar(), this.trie);
    return this.#masker;
  }

  /** The masker of a response format; throws SchemaError for a schema it cannot honour. */
  maskerFor(format: ResponseFormat): TokenMasker {
    if (format.type === "json_object") return this.masker;
    const key = JSON.stringify(format.schema);
    let masker = this.#schemas.get(key);
    if (masker) this.#schemas.delete(key);
    else masker = new TokenMasker(compileSchema(format.schema), this.trie);
    this.#schemas.set(key, masker);
    if (this.#schemas.size > SCHEMA_CACHE_SIZE) this.#schemas.delete(this.#schemas.keys().next().value!);
    return masker;
  }

  /** Wraps every sampler of a request. `allowThinking`: false when the request's reasoning budget is 0. */
  wrap(factory: (index: number) => TokenSampler, promptIds: readonly number[], allowThinking: boolean,
    format: ResponseFormat = { type: "json_object" }): (index: number) => TokenSampler {
    const masker = this.maskerFor(format);
    const insideThink = this.#think !== undefined && promptIds.lastIndexOf(this.#think) > (this.#endThink === undefined ? -1 : promptIds.lastIndexOf(this.#endThink));
    return (index) => new JsonSampler(factory(index), masker, { eos: this.#eos, think: allowThinking ? this.#think : undefined, endThink: this.#endThink }, insideThink ? "think" : "start");
  }
}

type Phase = "start" | "think" | "answer";
let scratch = new Float32Array(0);

class JsonSampler implements TokenSampler {
  #consumed = 0;
  #state: number;

  constructor(private readonly inner: TokenSampler, private readonly masker: TokenMasker,
    private readonly ids: { eos: number; think: number | undefined; endThink: number | undefined }, private phase: Phase) {
    this.#state = masker.grammar.start;
  }

  sample(logits: Float32Array, generatedIds: readonly number[], step: number) {
    this.#replay(generatedIds);
    const row = this.#masked(logits);
    const drawn = this.inner.sample(row, generatedIds, step);
    // report the raw distribution's log-probabilities, as unconstrained requests do
    return this.inner.forced(logits, drawn.token);
  }

  forced(logits: Float32Array, token: number) {
    return this.inner.forced(logits, token);
  }

  #replay(generatedIds: readonly number[]): void {
    const { grammar, trie } = this.masker;
    for (; this.#consumed < generatedIds.length; this.#consumed++) {
      const id = generatedIds[this.#consumed];
      if (this.phase === "start" && id === this.ids.think) this.phase = "think";
      else if (this.phase === "think") {
        if (id === this.ids.endThink) this.phase = "answer";
      } else {
        this.phase = "answer";
        // a control token cannot continue the document: the state goes dead and only end-of-sequence is left
        const bytes = this.#state < 0 || id >= trie.vocabSize ? null : trie.tokenBytes(id);
        this.#state = bytes === null || bytes.length === 0 ? -1 : grammar.stepAll(this.#state, bytes);
      }
    }
  }

  /** A copy of the logits with disallowed tokens at −∞. */
  #masked(logits: Float32Array): Float32Array {
    if (scratch.length < logits.length) scratch = new Float32Array(logits.length);
    const row = scratch.length === logits.length ? scratch : scratch.subarray(0, logits.length);
    const { eos, think } = this.ids;
    if (this.phase === "think") {
      row.set(logits);
      row[eos] = -Infinity;
      return row;
    }
    const dead = this.#state < 0;
    const mask = dead ? null : this.masker.allowed(this.#state);
    let any = false;
    for (let i = 0; i < row.length; i++) {
      const ok = mask !== null && i < mask.length && mask[i] === 1;
      row[i] = ok ? logits[i] : -Infinity;
      any ||= ok;
    }
    if (dead || !any || this.masker.grammar.isComplete(this.#state)) row[eos] = logits[eos];
    if (this.phase === "start" && think !== undefined) row[think] = logits[think];
    return row;
  }
}
