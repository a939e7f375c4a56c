// Grammar compilation on the worker thread against the same job compiled on this thread (its slow twin): the packed
// NFA that comes back is equal array for array, refusals come back as SchemaError with the same message, and the
// runtime's grammar cache remembers a refusal instead of compiling it again.
import { afterAll, describe, expect, it } from "vitest";
import { compileJob, type GrammarJob } from "../../runtime/grammar/compile-job.ts";
import { GrammarCompiler } from "../../runtime/grammar/grammar-compiler.ts";
import { SchemaError } from "../../runtime/grammar/schema-grammar.ts";
import { JsonConstraints } from "../../runtime/sampling/constraints.ts";
import { loadTokenizer } from "../../runtime/text/index.ts";
import { fixtureDir } from "../helpers/fixtures.ts";
import { exponentialRef } from "../tenants/pathological-schemas.ts";

const compiler = new GrammarCompiler();
afterAll(() => compiler.close());

const schema = (s: unknown): GrammarJob => ({ kind: "schema", schemaText: JSON.stringify(s) });
const jobs: Array<[string, GrammarJob]> = [
  [
    "an object schema",
    schema({
      type: "object",
      properties: { name: { type: "string" }, n: { type: "integer" }, tags: { type: "array", items: { enum: ["a"] } } },
      required: ["name"],
    }),
  ],
  ["an enum", schema({ enum: Array.from({ length: 300 }, (_, i) => `v${i}`) })],
  ["tool names", { kind: "names", names: ["get_weather", "get_time", "search"] }],
];

const thrown = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e;
  }
};

describe("grammar compilation on the worker thread", () => {
  it.each(jobs)("%s compiles to the same packed NFA as on this thread", async (_name, job) => {
    const here = compileJob(job);
    const there = await compiler.compile(job);
    expect(there.start).toBe(here.start);
    expect(there.nfa).toEqual(here.nfa);
  });

  it.each([
    ["too complex", schema(exponentialRef(24, "w"))],
    ["unsupported", schema({ type: "object", patternProperties: {} })],
  ])("a schema refused as %s is a SchemaError with the same message", async (_name, job) => {
    const here = thrown(() => compileJob(job));
    expect(here).toBeInstanceOf(SchemaError);
    const there = await compiler.compile(job).then(() => null, (e) => e);
    expect(there).toBeInstanceOf(SchemaError);
    expect((there as Error).message).toBe((here as Error).message);
  });

  it("the runtime's constraints compile on the worker, and remember a refusal", async () => {
    const c = new JsonConstraints(await loadTokenizer(fixtureDir("tiny-mistral3")), undefined, undefined, compiler);
    const ok = { type: "json_schema" as const, schema: { type: "object", properties: { a: { type: "string" } } } };
    const bad = { type: "json_schema" as const, schema: exponentialRef(24, "remembered") };
    expect(c.isCompiled(ok, undefined)).toBe(false);
    await c.compile(ok, undefined);
    await c.compile(bad, undefined);
    expect(c.isCompiled(ok, undefined) && c.isCompiled(bad, undefined)).toBe(true);
    const masker = c.maskerFor(ok);
    expect(masker.grammar.step(masker.grammar.start, "{".charCodeAt(0))).toBeGreaterThanOrEqual(0);
    expect(thrown(() => c.maskerFor(bad))).toBeInstanceOf(SchemaError);
  });
});
