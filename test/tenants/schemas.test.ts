// Grammar compilation is bounded: the pathological schemas (exponential $ref, a 50k-string enum, 100k-deep
// nesting) each get a 400 "schema too complex: …" on both gateways, 20 distinct ones leave the runtime's memory
// flat, and the runtime's grammar cache stays under its byte budget however many schemas pass through it.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileSchema, SchemaError } from "../../runtime/grammar/schema-grammar.ts";
import { JsonConstraints } from "../../runtime/sampling/constraints.ts";
import { loadTokenizer } from "../../runtime/text/index.ts";
import { fixtureDir } from "../helpers/fixtures.ts";
import { bigEnum, deepSchemaText, exponentialRef } from "./pathological-schemas.ts";
import { freePort, startDenoGateway, type Started, startGust, tempSocket } from "../helpers/processes.ts";

const MODEL = "tiny-mistral3";

const schemaCases: Array<[string, (salt: string) => string]> = [
  ["exponential $ref", (salt) => JSON.stringify(exponentialRef(24, salt))],
  ["a 50k-string enum", (salt) => JSON.stringify(bigEnum(salt))],
  ["100k-deep nesting", deepSchemaText],
];

describe("grammar bounds", () => {
  it.each(schemaCases)("%s is refused as too complex", (_name, make) => {
    const e = (() => {
      try {
        compileSchema(JSON.parse(make("unit")));
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(SchemaError);
    expect((e as Error).message).toMatch(/^schema too complex: /);
  });

  it("the runtime's grammar cache stays under its byte budget", async () => {
    const budget = 4 * 1024 * 1024;
    const constraints = new JsonConstraints(await loadTokenizer(fixtureDir(MODEL)), 10_000, budget);
    for (let i = 0; i < 40; i++) {
      const properties = Object.fromEntries(Array.from({ length: 40 }, (_, k) => [`p${i}_${k}`, { type: "string" }]));
      const masker = constraints.maskerFor({ type: "json_schema", schema: { type: "object", properties } });
      masker.allowed(masker.grammar.start);
      expect(constraints.cachedBytes).toBeLessThanOrEqual(budget);
    }
  });
});

/** Resident memory of a process, in bytes (Linux). */
const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) * 1024;

describe.each(["bun", "deno"] as const)("pathological schemas through the gateway on %s", (kind) => {
  const socket = tempSocket(`schemas-${kind}`);
  let port = 0;
  let runtime: Started, gateway: Started;
  beforeAll(async () => {
    runtime = await startGust(
      ["runtime", "--model", fixtureDir(MODEL), "--socket", socket, "--num-blocks", "64"],
      /serving/,
    );
    port = await freePort();
    const args = ["--runtime", socket, "--port", String(port)];
    gateway = kind === "bun" ? await startGust(["serve", ...args], /gateway on/) : await startDenoGateway(args);
  }, 90_000);
  afterAll(async () => {
    await gateway?.stop();
    await runtime?.stop();
  });

  const ask = (schemaText: string) =>
    fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: `{"model":"${MODEL}","max_tokens":4,"messages":[{"role":"user","content":"hi"}],` +
        `"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":${schemaText}}}}`,
    });

  it("each gets a 400 naming the limit, and 20 distinct ones leave the runtime's memory flat", async () => {
    const before = rssOf(runtime.proc.pid!);
    for (let i = 0; i < 20; i++) {
      const [name, make] = schemaCases[i % schemaCases.length];
      const res = await ask(make(`s${i}`));
      const body = await res.json();
      expect(res.status, `${name}: ${JSON.stringify(body)}`).toBe(400);
      expect(body.error.message).toContain("schema too complex: ");
      expect(body.error.param).toBe("response_format.json_schema.schema");
    }
    const grown = rssOf(runtime.proc.pid!) - before;
    console.log(`runtime RSS grew ${(grown / 2 ** 20).toFixed(1)} MiB over 20 pathological schemas (${kind})`);
    expect(grown).toBeLessThan(64 * 2 ** 20);
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
  });
});
