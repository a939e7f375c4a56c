// The schema grammar against a small validator written here as its spec: instances generated from each schema
// (properties in schema order, random whitespace) are accepted with every prefix; random JSON values are
// accepted only if the validator says they conform; unsupported or broken schemas are refused with their path.
import { describe, expect, it } from "vitest";
import { compileSchema, SchemaError } from "../../runtime/grammar/schema-grammar.ts";
import { Rng } from "../../runtime/sampling/rng.ts";

const enc = new TextEncoder();
type S = Record<string, any>;

const compiled = new Map<unknown, ReturnType<typeof compileSchema>>();
function accepts(schema: unknown, text: string): { ok: boolean; complete: boolean } {
  let g = compiled.get(schema);
  if (!g) compiled.set(schema, g = compileSchema(schema));
  const s = g.stepAll(g.start, enc.encode(text));
  return { ok: s >= 0, complete: s >= 0 && g.isComplete(s) };
}

/** The validator (the slow twin): conformance to the supported subset, key order ignored. */
function conforms(schema: S | boolean, v: unknown, root: S): boolean {
  if (schema === true) return true;
  if (schema === false) return false;
  if (schema.$ref) return conforms(root.$defs[schema.$ref.split("/").pop()], v, root);
  if ("const" in schema) return JSON.stringify(v) === JSON.stringify(schema.const);
  if (schema.enum) return schema.enum.some((e: unknown) => JSON.stringify(e) === JSON.stringify(v));
  if (schema.anyOf) return schema.anyOf.some((a: S) => conforms({ ...schema, anyOf: undefined, ...a }, v, root));
  const type = schema.type ?? (schema.properties ? "object" : schema.items ? "array" : undefined);
  if (type === undefined) return true;
  const types: string[] = Array.isArray(type) ? type : [type];
  return types.some((t) => {
    switch (t) {
      case "string":
        return typeof v === "string";
      case "integer":
        return Number.isInteger(v);
      case "number":
        return typeof v === "number";
      case "boolean":
        return typeof v === "boolean";
      case "null":
        return v === null;
      case "array":
        return Array.isArray(v) && (!(schema.minItems >= 1) || v.length >= 1) &&
          v.every((x) => conforms(schema.items ?? true, x, root));
      case "object": {
        if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
        const o = v as Record<string, unknown>;
        if (!schema.properties) {
          return Object.values(o).every((x) => conforms(schema.additionalProperties ?? true, x, root));
        }
        // beside properties, other keys only where additionalProperties is true or a schema (absent = none)
        const extra = schema.additionalProperties;
        const others = extra === true || typeof extra === "object" ? extra : false;
        return (schema.required ?? []).every((k: string) => k in o) &&
          Object.entries(o).every(([k, x]) =>
            k in schema.properties
              ? conforms(schema.properties[k], x, root)
              : others !== false && conforms(others, x, root)
          );
      }
      default:
        return false;
    }
  });
}

/** An instance of `schema` as text: properties in schema order, optional ones sometimes left out. */
function instance(schema: S | boolean, rng: Rng, root: S, depth = 0): string {
  const pick = <T>(xs: T[]) => xs[Math.floor(rng.nextFloat() * xs.length)];
  const ws = () => pick(["", " ", "\n  "]);
  if (schema === true || (typeof schema === "object" && Object.keys(schema).length === 0)) {
    return pick(['"x"', "1", "null", "[]", '{"k": [true]}']);
  }
  const s = schema as S;
  if (s.$ref) return instance(root.$defs[s.$ref.split("/").pop()], rng, root, depth);
  if ("const" in s) return JSON.stringify(s.const);
  if (s.enum) return JSON.stringify(pick(s.enum));
  if (s.anyOf) return instance({ ...s, anyOf: undefined, ...pick(s.anyOf as S[]) }, rng, root, depth);
  const type = Array.isArray(s.type) ? pick(s.type) : (s.type ?? (s.properties ? "object" : "array"));
  switch (type) {
    case "string":
      return pick(['""', '"plain"', '"esc \\" \\\\ \\u00e9 \\n"', '"日本"']);
    case "integer":
      return pick(["0", "-7", "42"]);
    case "number":
      return pick(["0", "-1.5", "2e10", "3.25E-2"]);
    case "boolean":
      return pick(["true", "false"]);
    case "null":
      return "null";
    case "array": {
      const n = s.minItems >= 1 ? 1 + Math.floor(rng.nextFloat() * 3) : Math.floor(rng.nextFloat() * 3);
      return `[${ws()}${
        Array.from({ length: n }, () => instance(s.items ?? true, rng, root, depth + 1)).join(`${ws()},${ws()}`)
      }${ws()}]`;
    }
    default: {
      if (!s.properties) {
        return `{${ws()}"any"${ws()}:${ws()}${instance(s.additionalProperties ?? true, rng, root, depth + 1)}}`;
      }
      const parts = Object.keys(s.properties).filter((k) => (s.required ?? []).includes(k) || rng.nextFloat() < 0.5)
        .map((k) => `${JSON.stringify(k)}${ws()}:${ws()}${instance(s.properties[k], rng, root, depth + 1)}`);
      const extra = s.additionalProperties;
      if (extra === true || typeof extra === "object") {
        const others = ["zz", "m", ""].filter(() => rng.nextFloat() < 0.5);
        const value = extra === true ? { type: "integer" } : extra;
        parts.push(...others.map((k) => `"${k}"${ws()}:${ws()}${instance(value, rng, root, depth + 1)}`));
      }
      return `{${ws()}${parts.join(`${ws()},${ws()}`)}${ws()}}`;
    }
  }
}

const SCHEMAS: S[] = [
  {
    type: "object",
    properties: { name: { type: "string" }, age: { type: "integer" }, city: { type: ["string", "null"] } },
    required: ["name", "age"],
  },
  {
    type: "object",
    properties: {
      tags: { type: "array", items: { type: "string" }, minItems: 1 },
      score: { type: "number" },
      ok: { type: "boolean" },
    },
    required: ["tags"],
  },
  {
    type: "object",
    properties: {
      kind: { enum: ["a", "b", 3] },
      fixed: { const: { x: [1, 2] } },
      opt1: { type: "integer" },
      opt2: { type: "null" },
    },
  },
  {
    type: "object",
    properties: {
      shape: {
        anyOf: [{ type: "object", properties: { r: { type: "number" } }, required: ["r"] }, {
          type: "array",
          items: { type: "integer" },
        }],
      },
    },
    required: ["shape"],
  },
  {
    $defs: {
      point: { type: "object", properties: { x: { type: "number" }, y: { type: "number" } }, required: ["x", "y"] },
    },
    type: "object",
    properties: { from: { $ref: "#/$defs/point" }, to: { $ref: "#/$defs/point" } },
    required: ["from", "to"],
  },
  { type: "object", additionalProperties: { type: "integer" } },
  { type: "object", properties: { n: { type: "integer" } }, required: ["n"], additionalProperties: true },
  { type: "object", properties: { name: { type: "string" } }, additionalProperties: { type: "boolean" } },
  { type: "object", properties: { anything: {}, list: { type: "array" } }, required: ["anything", "list"] },
];

describe("compileSchema", () => {
  it("accepts instances generated from each schema, and every prefix of them", () => {
    const rng = new Rng(21);
    for (const schema of SCHEMAS) {
      const g = compileSchema(schema);
      for (let i = 0; i < 40; i++) {
        const text = instance(schema, rng, schema);
        expect(conforms(schema, JSON.parse(text), schema), text).toBe(true);
        let s = g.start;
        for (const b of enc.encode(text)) {
          expect(g.isComplete(s), `complete too early in ${text}`).toBe(false);
          s = g.step(s, b);
          expect(s, `${JSON.stringify(schema)} rejected ${text}`).toBeGreaterThanOrEqual(0);
        }
        expect(g.isComplete(s), text).toBe(true);
      }
    }
  });

  it("accepts a random JSON value only if the validator says it conforms", () => {
    const rng = new Rng(8);
    const pool = [
      '"x"',
      "1",
      "-2.5",
      "true",
      "null",
      "[]",
      '["a"]',
      "[1, 2]",
      '{"r": 1}',
      '{"x": 1, "y": 2}',
      "{}",
      '{"a": "b"}',
    ];
    const pick = () => pool[Math.floor(rng.nextFloat() * pool.length)];
    let accepted = 0;
    for (const schema of SCHEMAS) {
      const names = Object.keys(schema.properties ?? { any: 1, other: 1 });
      for (let i = 0; i < 300; i++) {
        const keys = names.filter(() => rng.nextFloat() < 0.6);
        if (rng.nextFloat() < 0.1) keys.push("extra");
        const text = `{${keys.map((k) => `${JSON.stringify(k)}: ${pick()}`).join(", ")}}`;
        const got = accepts(schema, text);
        if (got.complete) {
          accepted++;
          expect(conforms(schema, JSON.parse(text), schema), `${JSON.stringify(schema)} accepted ${text}`).toBe(true);
        } else if (
          keys.every((k, j) => j === 0 || names.indexOf(keys[j - 1]) < names.indexOf(k)) && !keys.includes("extra") &&
          schema.properties
        ) {
          // in schema order, so only non-conformance may explain a refusal
          expect(conforms(schema, JSON.parse(text), schema), `${JSON.stringify(schema)} refused ${text}`).toBe(false);
        }
      }
    }
    expect(accepted).toBeGreaterThan(50);
  });

  it("refuses schemas it cannot honour, naming the path", () => {
    const cases: Array<[unknown, RegExp]> = [
      [
        { type: "object", properties: { a: { type: "thing" } } },
        /\$\.properties\.a\.type: "thing" is not a JSON Schema type/,
      ],
      [{ type: "object", properties: { a: { prefixItems: [] } } }, /\$\.properties\.a\.prefixItems: not supported/],
      [{ type: "object", properties: { a: { $ref: "#/$defs/missing" } } }, /does not name an entry/],
      [
        { $defs: { n: { type: "object", properties: { next: { $ref: "#/$defs/n" } } } }, $ref: "#/$defs/n" },
        /recursive schemas are not supported/,
      ],
      [
        { type: "object", properties: { a: { type: "string" } }, required: ["b"] },
        /\$\.required: "b" is not among the properties/,
      ],
      [{ enum: [] }, /empty enum/],
      [false, /accepts no value/],
    ];
    for (const [schema, message] of cases) expect(() => compileSchema(schema), JSON.stringify(schema)).toThrow(message);
    expect(() => compileSchema({ enum: [] })).toThrow(SchemaError);
  });

  it("takes other keys after the declared ones where additionalProperties allows them, never a declared one", () => {
    const s = { type: "object", properties: { a: { type: "integer" }, ab: { type: "integer" } }, required: ["a"] };
    const open = { ...s, additionalProperties: true };
    const typed = { ...s, additionalProperties: { type: "boolean" } };
    expect(accepts(s, '{"a": 1, "b": 2}').ok).toBe(false);
    expect(accepts({ ...s, additionalProperties: false }, '{"a": 1, "b": 2}').ok).toBe(false);
    for (const key of ["b", "abc", "", "a\\u0062", "\\u0061"]) {
      expect(accepts(open, `{"a": 1, "${key}": [1, {"x": null}]}`).complete, key).toBe(true);
    }
    expect(accepts(open, '{"a": 1, "ab": 2, "c": "x", "d": 3}').complete).toBe(true);
    // a declared key is never an other key: no repeat, none after an other key
    expect(accepts(open, '{"a": 1, "a": 2}').ok).toBe(false);
    expect(accepts(open, '{"a": 1, "c": 1, "ab": 2}').ok).toBe(false);
    expect(accepts(open, '{"c": 1, "a": 1}').ok).toBe(false); // other keys come after the declared ones
    expect(accepts(typed, '{"a": 1, "c": true}').complete).toBe(true);
    expect(accepts(typed, '{"a": 1, "c": 1}').ok).toBe(false);
    expect(accepts({ type: "object", properties: {}, additionalProperties: true }, '{"k": 1}').complete).toBe(true);
  });

  it("holds to the schema's key order and refuses keys it does not list", () => {
    const s = SCHEMAS[0];
    expect(accepts(s, '{"name": "a", "age": 1}').complete).toBe(true);
    expect(accepts(s, '{"age": 1, "name": "a"}').ok).toBe(false);
    expect(accepts(s, '{"name": "a", "age": 1, "x": 2}').ok).toBe(false);
    expect(accepts(s, '{"name": "a"}').complete).toBe(false);
    expect(accepts(s, '{"name": "a", "age": 1.5}').ok).toBe(false);
  });
});
