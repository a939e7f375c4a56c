// A JSON Schema compiled to a byte grammar (an NFA read through a lazy DFA), for "response_format":
// {"type": "json_schema"}. Supported: type (one or a list), properties (written in the schema's order; every
// `required` one present, the others optional), additionalProperties (absent or false beside properties: no other
// keys, as llama.cpp reads it; true or a schema: other keys after the declared ones; of a property-less object: its
// keys' value schema, absent = any), items, minItems ≥ 1, enum, const, anyOf/oneOf, allOf of one schema, $ref into #/$defs or
// #/definitions (not recursive), and {} / true for any JSON value (nested at most ANY_DEPTH deep). Keywords that
// only narrow values (pattern, format, minimum, maxLength, …) are accepted and not enforced; anything else that
// would change the shape is refused with a SchemaError naming its path.
//
// Worked example: {"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]} accepts
// `{"a": -12}` and `{ "a":3 }` but not `{}` (a is required), `{"a":1.5}` or `{"b":1,"a":1}` (no other keys).
import { MAX_WS_RUN } from "./json-grammar.ts";
import { LazyDfa } from "./lazy-dfa.ts";
import { DEFAULT_NFA_BUDGET, GrammarLimitError, Nfa, type NfaBudget, type PackedNfa } from "./nfa.ts";
import { jsonInteger, jsonNumber, jsonString, otherKey, WS } from "./json-tokens.ts";

export class SchemaError extends Error {
  override name = "SchemaError";
}

/** How deep an unconstrained value ({} in a schema) may nest objects and arrays. */
export const ANY_DEPTH = 3;
/** How deep schemas may nest (subschemas and $refs followed); real ones stay far below. */
export const MAX_SCHEMA_DEPTH = 64;

const enc = new TextEncoder();

const SHAPE_KEYS = new Set([
  "type",
  "properties",
  "required",
  "additionalProperties",
  "items",
  "minItems",
  "enum",
  "const",
  "anyOf",
  "oneOf",
  "allOf",
  "$ref",
  "$defs",
  "definitions",
]);
const REFUSED_KEYS = [
  "prefixItems",
  "patternProperties",
  "not",
  "if",
  "then",
  "else",
  "dependentSchemas",
  "unevaluatedProperties",
  "contains",
];

type Schema = Record<string, unknown>;

/** A compiled NFA and the state a document starts in. */
export interface CompiledNfa {
  nfa: PackedNfa;
  start: number;
}

/** Compiles `schema` within `budget` (states and time; over it: SchemaError "schema too complex: …"). */
export function compileSchema(
  schema: unknown,
  maxDfaStates = 100_000,
  budget: NfaBudget = DEFAULT_NFA_BUDGET,
): LazyDfa {
  const { nfa, start } = compileSchemaNfa(schema, budget);
  return new LazyDfa(nfa, start, maxDfaStates);
}

/** The NFA of `schema`, packed (the part of compiling that may take long: grammar-compiler.ts runs it off the
 * engine's thread). */
export function compileSchemaNfa(schema: unknown, budget: NfaBudget = DEFAULT_NFA_BUDGET): CompiledNfa {
  const nfa = new Nfa(budget);
  const c = new Compiler(nfa, schema);
  try {
    const start = c.ws(c.value(schema, "$", c.ws(nfa.accept), []));
    return { nfa: nfa.pack(), start };
  } catch (e) {
    if (e instanceof GrammarLimitError) throw new SchemaError(`schema too complex: ${e.message}; simplify it`);
    throw e;
  }
}

class Compiler {
  #depth = 0;
  constructor(private readonly nfa: Nfa, private readonly root: unknown) {}

  /** Up to MAX_WS_RUN whitespace bytes, then `next`. */
  ws(next: number): number {
    let s = next;
    for (let i = 0; i < MAX_WS_RUN; i++) {
      const t = this.nfa.state();
      this.nfa.epsilon[t].push(next);
      this.nfa.edges[t].push([WS, s]);
      s = t;
    }
    return s;
  }

  lit(text: string, next: number): number {
    return this.nfa.literal(enc.encode(text), next);
  }

  value(schema: unknown, path: string, next: number, refs: string[]): number {
    if (this.#depth >= MAX_SCHEMA_DEPTH) {
      throw new SchemaError(
        `schema too complex: ${path} is nested more than ${MAX_SCHEMA_DEPTH} schemas deep; the limit is ${MAX_SCHEMA_DEPTH}`,
      );
    }
    this.#depth++;
    try {
      return this.#value(schema, path, next, refs);
    } finally {
      this.#depth--;
    }
  }

  #value(schema: unknown, path: string, next: number, refs: string[]): number {
    if (schema === true) return this.any(next, 0);
    if (schema === false) throw new SchemaError(`${path}: the schema false accepts no value`);
    if (schema === null || typeof schema !== "object" || Array.isArray(schema)) {
      throw new SchemaError(`${path}: a schema must be an object or a boolean, got ${JSON.stringify(schema)}`);
    }
    const s = schema as Schema;
    for (const key of REFUSED_KEYS) {
      if (key in s) {
        throw new SchemaError(
          `${path}.${key}: not supported in gust's JSON schema mode; supported: ${[...SHAPE_KEYS].join(", ")}`,
        );
      }
    }
    if (typeof s.$ref === "string") return this.ref(s.$ref, path, next, refs);
    if ("const" in s) return this.lit(JSON.stringify(s.const), next);
    if (Array.isArray(s.enum)) {
      if (s.enum.length === 0) throw new SchemaError(`${path}.enum: an empty enum accepts no value`);
      return this.nfa.either(...s.enum.map((v) => this.lit(JSON.stringify(v), next)));
    }
    for (const key of ["anyOf", "oneOf"] as const) {
      const alts = s[key];
      if (alts === undefined) continue;
      if (!Array.isArray(alts) || alts.length === 0) {
        throw new SchemaError(`${path}.${key}: must be a non-empty list of schemas`);
      }
      return this.nfa.either(
        ...alts.map((alt, i) =>
          this.value({ ...s, [key]: undefined, ...(alt as Schema) }, `${path}.${key}[${i}]`, next, refs)
        ),
      );
    }
    if (s.allOf !== undefined) {
      if (!Array.isArray(s.allOf) || s.allOf.length !== 1) {
        throw new SchemaError(`${path}.allOf: only a list of one schema is supported`);
      }
      return this.value({ ...s, allOf: undefined, ...(s.allOf[0] as Schema) }, `${path}.allOf[0]`, next, refs);
    }
    const type = s.type ?? (s.properties !== undefined ? "object" : s.items !== undefined ? "array" : undefined);
    if (type === undefined) return this.any(next, 0);
    if (Array.isArray(type)) {
      return this.nfa.either(...type.map((t, i) => this.typed(String(t), s, `${path}.type[${i}]`, next, refs)));
    }
    return this.typed(String(type), s, path, next, refs);
  }

  typed(type: string, s: Schema, path: string, next: number, refs: string[]): number {
    switch (type) {
      case "object":
        return this.object(s, path, next, refs);
      case "array":
        return this.array(s.items, typeof s.minItems === "number" && s.minItems >= 1, `${path}.items`, next, refs, 0);
      case "string":
        return this.string(next);
      case "integer":
        return this.integer(next);
      case "number":
        return this.number(next);
      case "boolean":
        return this.nfa.either(this.lit("true", next), this.lit("false", next));
      case "null":
        return this.lit("null", next);
      default:
        throw new SchemaError(
          `${path}.type: ${
            JSON.stringify(type)
          } is not a JSON Schema type; allowed: object, array, string, integer, number, boolean, null`,
        );
    }
  }

  ref(ref: string, path: string, next: number, refs: string[]): number {
    const m = /^#\/(\$defs|definitions)\/([^/]+)$/.exec(ref);
    const defs = m ? ((this.root as Schema)?.[m[1]] as Schema | undefined) : undefined;
    if (!m || !defs || !(m[2] in defs)) {
      throw new SchemaError(`${path}.$ref: ${JSON.stringify(ref)} does not name an entry of #/$defs or #/definitions`);
    }
    if (refs.includes(ref)) {
      throw new SchemaError(`${path}.$ref: ${ref} refers to itself; recursive schemas are not supported`);
    }
    return this.value(defs[m[2]], `${ref.slice(2).replace(/\//g, ".")}`, next, [...refs, ref]);
  }

  /** Properties in schema order; `build(i, emitted)` is "properties i.. still to come", memoised because an
   * optional property leads to the same tail whether it was written or skipped. */
  object(s: Schema, path: string, next: number, refs: string[]): number {
    const props = s.properties;
    if (props === undefined) {
      const valueSchema = s.additionalProperties === undefined || s.additionalProperties === true
        ? true
        : s.additionalProperties === false
        ? null
        : s.additionalProperties;
      if (valueSchema === null) return this.lit("{", this.ws(this.lit("}", next)));
      return this.map(valueSchema === true ? null : valueSchema, `${path}.additionalProperties`, next, refs, 0);
    }
    if (props === null || typeof props !== "object" || Array.isArray(props)) {
      throw new SchemaError(`${path}.properties: must be an object of schemas`);
    }
    const names = Object.keys(props);
    const required = new Set(Array.isArray(s.required) ? (s.required as unknown[]).map(String) : []);
    for (const r of required) {
      if (!names.includes(r)) {
        throw new SchemaError(`${path}.required: ${JSON.stringify(r)} is not among the properties`);
      }
    }
    const close = this.ws(this.lit("}", next));
    const extra = s.additionalProperties;
    const others = extra === true || (extra !== null && typeof extra === "object")
      ? this.otherEntries(names, extra === true ? null : extra, `${path}.additionalProperties`, close, refs)
      : null;
    const memo = new Map<string, number>();
    const build = (i: number, emitted: boolean): number => {
      const key = `${i}|${emitted}`;
      const hit = memo.get(key);
      if (hit !== undefined) return hit;
      let start: number;
      if (i === names.length) start = others ? (emitted ? others.afterEntry : others.first) : close;
      else {
        const name = names[i];
        const afterKey = this.ws(
          this.lit(
            ":",
            this.ws(this.value((props as Schema)[name], `${path}.properties.${name}`, build(i + 1, true), refs)),
          ),
        );
        const keyed = this.lit(JSON.stringify(name), afterKey);
        const present = this.ws(emitted ? this.lit(",", this.ws(keyed)) : keyed);
        start = required.has(name) ? present : this.nfa.either(present, build(i + 1, emitted));
      }
      memo.set(key, start);
      return start;
    };
    return this.lit("{", build(0, false));
  }

  /** Keys other than `declared` after them, values following `valueSchema` (null: any value), then `close`:
   * `first` where no entry was written yet (no comma), `afterEntry` after one. */
  otherEntries(declared: string[], valueSchema: unknown, path: string, close: number, refs: string[]) {
    const afterEntry = this.nfa.state();
    const value = valueSchema === null ? this.any(afterEntry, 1) : this.value(valueSchema, path, afterEntry, refs);
    const entry = otherKey(this.nfa, declared, this.ws(this.lit(":", this.ws(value))));
    this.nfa.epsilon[afterEntry].push(this.ws(this.lit(",", this.ws(entry))), close);
    return { first: this.nfa.either(this.ws(entry), close), afterEntry };
  }

  /** An object of any keys whose values follow `valueSchema` (null: any value). */
  map(valueSchema: unknown, path: string, next: number, refs: string[], depth: number): number {
    const after = this.nfa.state();
    const value = (
      into: number,
    ) => (valueSchema === null ? this.any(into, depth + 1) : this.value(valueSchema, path, into, refs));
    const entry = this.string(this.ws(this.lit(":", this.ws(value(after)))));
    this.nfa.epsilon[after].push(this.ws(this.lit(",", this.ws(entry))), this.ws(this.lit("}", next)));
    return this.lit("{", this.ws(this.nfa.either(this.lit("}", next), entry)));
  }

  /** `[` items separated by commas `]`; items undefined = any value. */
  array(items: unknown, nonEmpty: boolean, path: string, next: number, refs: string[], depth: number): number {
    const after = this.nfa.state();
    const item = items === undefined || items === true
      ? this.any(after, depth + 1)
      : this.value(items, path, after, refs);
    this.nfa.epsilon[after].push(this.ws(this.lit(",", this.ws(item))), this.ws(this.lit("]", next)));
    return this.lit("[", this.ws(nonEmpty ? item : this.nfa.either(this.lit("]", next), item)));
  }

  any(next: number, depth: number): number {
    const alts = [
      this.string(next),
      this.number(next),
      this.lit("true", next),
      this.lit("false", next),
      this.lit("null", next),
    ];
    if (depth < ANY_DEPTH) {
      alts.push(this.map(null, "", next, [], depth), this.array(undefined, false, "", next, [], depth));
    }
    return this.nfa.either(...alts);
  }

  string(next: number): number {
    return jsonString(this.nfa, next);
  }

  integer(next: number): number {
    return jsonInteger(this.nfa, next);
  }

  number(next: number): number {
    return jsonNumber(this.nfa, next);
  }
}
