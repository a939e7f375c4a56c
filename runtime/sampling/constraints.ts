// The answer automata of constrained decoding, and the per-tokenizer factory that builds them:
//  - a JSON document: a JSON object (JSON mode) or a value of a JSON Schema;
//  - tool calls (tool_choice "required" or one named function): `[TOOL_CALLS]name[ARGS]{arguments}`, repeated
//    when parallel calls are allowed, where the name is one of the offered tools and the arguments follow that
//    tool's parameter schema (any JSON object where the schema is absent or not one gust can hold to);
//  - optional tool calls (tool_choice "auto"): free text until the model writes [TOOL_CALLS]; from there the
//    call is held as above, so a name the request did not offer cannot be written.
// Worked example, tools get_weather and get_time, required: the first token must be [TOOL_CALLS]; then name bytes
// that stay on "get_weather" or "get_time" ("get_" allows both); [ARGS] once a whole name is written; then the
// arguments' grammar; then end-of-sequence or, with parallel calls, [TOOL_CALLS] again.
import type { GrammarJob } from "../grammar/compile-job.ts";
import type { GrammarCompiler } from "../grammar/grammar-compiler.ts";
import { JsonGrammar } from "../grammar/json-grammar.ts";
import { GrammarLimitError } from "../grammar/nfa.ts";
import { MAX_SCHEMA_DEPTH, SchemaError } from "../grammar/schema-grammar.ts";
import { type TokenMask, TokenMasker, TokenTrie } from "../grammar/token-mask.ts";
import { GrammarCache } from "./grammar-cache.ts";
import type { Tokenizer } from "../text/tokenizer.ts";
import { type AnswerAutomaton, ConstrainedSampler } from "./constrained-sampler.ts";
import { endsInsideThink } from "../engine/reasoning-budget.ts";
import type { TokenSampler } from "./token-sampler.ts";

export type ResponseFormat = { type: "json_object" } | { type: "json_schema"; schema: unknown };
export interface ToolCallConstraint {
  /** The tools a call may name, with their parameter schemas. */
  tools: { name: string; parameters?: unknown }[];
  /** More than one call allowed. */
  parallel: boolean;
  /** The answer may be text; a call, once begun, is held to the names and schemas (tool_choice "auto"). */
  optional?: boolean;
}

/** Compiled grammars are kept (their masks are the expensive part, and clients resend the same schemas) up to this
 * many bytes all together, least recently used first out. Each holds at most MAX_DFA_STATES transition rows (1 KiB
 * each), its NFA (at most DEFAULT_NFA_BUDGET states) and 64 cached masks (about 5 bytes per vocabulary entry). */
export const CACHE_BYTES = 256 * 1024 * 1024;
const MAX_DFA_STATES = 10_000;
/** What warm() walks: keys and values at the first two nesting levels, numbers, literals, an array. */
export const WARM_DOCUMENT = '{"key": "value", "n": -1.5e3, "list": [1, "two", {"k": "v"}], "ok": true, "none": null}';

/** One per served tokenizer: the vocabulary trie is built on the first constrained request; grammars are cached. */
export class JsonConstraints {
  #trie: TokenTrie | null = null;
  #json: TokenMasker | null = null;
  readonly #grammars: GrammarCache;
  readonly #eos: number;
  readonly #think: number | undefined;
  readonly #endThink: number | undefined;
  readonly #calls: number | undefined;
  readonly #args: number | undefined;

  constructor(
    private readonly tokenizer: Tokenizer,
    maxDfaStates = MAX_DFA_STATES,
    cacheBytes = CACHE_BYTES,
    /** Where compile() builds grammars (a worker thread); without one, on the calling thread. */
    compiler?: GrammarCompiler,
  ) {
    this.#grammars = new GrammarCache(() => this.trie, maxDfaStates, cacheBytes, compiler);
    this.#eos = tokenizer.eosId;
    this.#think = tokenizer.findControl("[THINK]");
    this.#endThink = tokenizer.findControl("[/THINK]");
    this.#calls = tokenizer.findControl("[TOOL_CALLS]");
    this.#args = tokenizer.findControl("[ARGS]");
  }

  get trie(): TokenTrie {
    this.#trie ??= TokenTrie.fromTokenizer(this.tokenizer);
    return this.#trie;
  }

  /** The JSON-object masker. */
  get masker(): TokenMasker {
    this.#json ??= new TokenMasker(new JsonGrammar(), this.trie);
    return this.#json;
  }

  /** Builds the trie and the JSON grammar's masks for the states a typical document passes through (in-string
   * states cost a full trie walk, 15–25 ms at 131k tokens, which would otherwise land inside an engine step). */
  warm(): void {
    const m = this.masker;
    let state = m.grammar.start;
    for (const b of new TextEncoder().encode(WARM_DOCUMENT)) {
      if (state < 0) break;
      m.allowed(state);
      state = m.grammar.step(state, b);
    }
  }

  /** The masker of a response format; throws SchemaError for a schema it cannot honour. */
  maskerFor(format: ResponseFormat): TokenMasker {
    if (format.type === "json_object") return this.masker;
    return this.#grammars.masker(schemaJob(format.schema));
  }

  /** True when wrap()/wrapToolCalls() of this answer would compile nothing (every grammar cached or refused). */
  isCompiled(format: ResponseFormat | undefined, calls: ToolCallConstraint | undefined): boolean {
    return grammarJobs(format, calls).every((job) => this.#grammars.has(job));
  }

  /** Builds the grammars of this answer that are not cached yet on the compiler's worker, off the engine's
   * thread; a refused schema is remembered and refused by wrap(). Rejects only when the worker failed. */
  compile(format: ResponseFormat | undefined, calls: ToolCallConstraint | undefined): Promise<void> {
    return this.#grammars.compile(grammarJobs(format, calls));
  }

  /** Wraps every sampler of a request whose answer is a JSON document. */
  wrap(
    factory: (index: number) => TokenSampler,
    promptIds: readonly number[],
    allowThinking: boolean,
    format: ResponseFormat = { type: "json_object" },
  ): (index: number) => TokenSampler {
    const masker = this.maskerFor(format);
    return this.#wrap(factory, promptIds, allowThinking, () => new DocumentAutomaton(masker, this.#eos));
  }

  /** Wraps every sampler of a request whose answer must be tool calls. */
  wrapToolCalls(
    factory: (index: number) => TokenSampler,
    promptIds: readonly number[],
    allowThinking: boolean,
    constraint: ToolCallConstraint,
  ): (index: number) => TokenSampler {
    if (this.#calls === undefined || this.#args === undefined) {
      throw new SchemaError("this model's tokenizer has no [TOOL_CALLS]/[ARGS] tokens, so calls cannot be required");
    }
    if (constraint.tools.length === 0) throw new SchemaError("tool calls were required but no tool was offered");
    const names = constraint.tools.map((t) => t.name);
    const nameMasker = this.#grammars.masker(namesJob(constraint));
    const argMaskers = new Map(constraint.tools.map((t) => [t.name, this.#argsMasker(t.parameters)]));
    const ids = { calls: this.#calls, args: this.#args, eos: this.#eos };
    return this.#wrap(
      factory,
      promptIds,
      allowThinking,
      () => new ToolCallAutomaton(nameMasker, argMaskers, ids, constraint.parallel, constraint.optional === true),
    );
  }

  /** A tool's arguments: its schema, or any JSON object where there is none or gust cannot hold to it. */
  #argsMasker(parameters: unknown): TokenMasker {
    if (parameters === undefined || parameters === null) return this.masker;
    try {
      return this.maskerFor({ type: "json_schema", schema: parameters });
    } catch (e) {
      if (e instanceof SchemaError) return this.masker;
      throw e;
    }
  }

  #wrap(
    factory: (index: number) => TokenSampler,
    promptIds: readonly number[],
    allowThinking: boolean,
    automaton: () => AnswerAutomaton,
  ) {
    const insideThink = this.#think !== undefined && this.#endThink !== undefined &&
      endsInsideThink(promptIds, { think: this.#think, endThink: this.#endThink });
    const ids = { eos: this.#eos, think: allowThinking ? this.#think : undefined, endThink: this.#endThink };
    return (index: number) => new ConstrainedSampler(factory(index), automaton(), ids, insideThink ? "think" : "start");
  }

  /** What the cached grammars hold, roughly, in bytes (for tests and stats). */
  get cachedBytes(): number {
    return this.#grammars.bytes;
  }
}

/** The grammar jobs one answer needs: its schema, or its tool names and each tool's parameter schema. */
function grammarJobs(format: ResponseFormat | undefined, calls: ToolCallConstraint | undefined): GrammarJob[] {
  const jobs: GrammarJob[] = [];
  if (format?.type === "json_schema") jobs.push(schemaJob(format.schema));
  if (calls && calls.tools.length > 0) {
    jobs.push(namesJob(calls));
    for (const t of calls.tools) {
      if (t.parameters !== undefined && t.parameters !== null) jobs.push(schemaJob(t.parameters));
    }
  }
  return jobs;
}

const namesJob = (calls: ToolCallConstraint): GrammarJob => ({ kind: "names", names: calls.tools.map((t) => t.name) });

function schemaJob(schema: unknown): GrammarJob {
  try {
    return { kind: "schema", schemaText: JSON.stringify(schema) };
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    throw new SchemaError(
      `schema too complex: it nests too deep to read; the limit is ${MAX_SCHEMA_DEPTH} schemas deep`,
    );
  }
}

/** Steps a grammar through the bytes of each token; a control token or a rejected byte leaves it dead. A grammar
 * that outgrows its DFA state budget also leaves it dead (the answer then ends) instead of failing the engine step
 * that every other sequence shares. */
class GrammarCursor {
  state: number;
  constructor(readonly masker: TokenMasker) {
    this.state = masker.grammar.start;
  }
  consume(id: number): void {
    const { trie, grammar } = this.masker;
    const bytes = this.state < 0 || id >= trie.vocabSize ? null : trie.tokenBytes(id);
    this.state = bytes === null || bytes.length === 0 ? -1 : guard(() => grammar.stepAll(this.state, bytes), -1);
  }
  get mask(): TokenMask | null {
    return this.state < 0 ? null : guard(() => this.masker.allowed(this.state), null);
  }
  get isComplete(): boolean {
    return this.state >= 0 && this.masker.grammar.isComplete(this.state);
  }
}

class DocumentAutomaton implements AnswerAutomaton {
  readonly #doc: GrammarCursor;
  constructor(masker: TokenMasker, private readonly eos: number) {
    this.#doc = new GrammarCursor(masker);
  }
  consume(id: number): void {
    this.#doc.consume(id);
  }
  allowed() {
    return { mask: this.#doc.mask, controls: this.#doc.isComplete ? [this.eos] : [] };
  }
}

class ToolCallAutomaton implements AnswerAutomaton {
  #phase: "free" | "call" | "name" | "args";
  #name: GrammarCursor | null = null;
  #nameBytes: number[] = [];
  #args: GrammarCursor | null = null;

  constructor(
    private readonly names: TokenMasker,
    private readonly args: Map<string, TokenMasker>,
    private readonly ids: { calls: number; args: number; eos: number },
    private readonly parallel: boolean,
    optional: boolean,
  ) {
    this.#phase = optional ? "free" : "call";
  }

  consume(id: number): void {
    if (this.#phase === "free" && id !== this.ids.calls) return;
    if (
      id === this.ids.calls &&
      (this.#phase === "call" || this.#phase === "free" || (this.#phase === "args" && this.#args?.isComplete))
    ) {
      this.#phase = "name";
      this.#name = new GrammarCursor(this.names);
      this.#nameBytes = [];
    } else if (this.#phase === "name" && id === this.ids.args) {
      const name = new TextDecoder().decode(Uint8Array.from(this.#nameBytes));
      const masker = this.args.get(name);
      this.#phase = "args";
      this.#args = masker ? new GrammarCursor(masker) : null;
    } else if (this.#phase === "name" && this.#name) {
      this.#name.consume(id);
      this.#nameBytes.push(...this.names.trie.tokenBytes(id));
    } else if (this.#phase === "args" && this.#args) this.#args.consume(id);
    else this.#args = null; // a token that fits nowhere: only end-of-sequence is left
  }

  allowed() {
    if (this.#phase === "free") return null;
    if (this.#phase === "call") return { mask: null, controls: [this.ids.calls] };
    if (this.#phase === "name") {
      return { mask: this.#name!.mask, controls: this.#name!.isComplete ? [this.ids.args] : [] };
    }
    if (!this.#args) return { mask: null, controls: [] };
    if (!this.#args.isComplete) return { mask: this.#args.mask, controls: [] };
    return { mask: this.#args.mask, controls: this.parallel ? [this.ids.eos, this.ids.calls] : [this.ids.eos] };
  }
}

function guard<T>(fn: () => T, onOverflow: T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof GrammarLimitError) return onOverflow;
    throw e;
  }
}
