// model.tokenize inside a function's isolate, on both gateways: it crosses the isolate's channel to the gateway's
// tokenizer, so a function gets the same ids the gateway would compute (plain text, and chat messages with their
// control tokens); text sure to exceed the context is a 400 naming the field, not seconds of the gateway's loop.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeChat, type InputMessage, loadTokenizer, type Tokenizer } from "../../runtime/text/index.ts";
import { fixtureDir } from "../helpers/fixtures.ts";
import { type FunctionGateway, startFunctionGateway } from "../helpers/function-gateway.ts";
import { freePort, type Started, startGust, tempSocket } from "../helpers/processes.ts";

const MODEL = "tiny-mistral3";

const counter = `
  import { Hono } from "hono";
  import { defineFunction } from "gust/sdk";
  const app = new Hono();
  app.post("/", async (c) => c.json({ ids: await c.var.model.tokenize(await c.req.json()) }));
  export default defineFunction({ app });`;

describe.each(["bun", "deno"] as const)("model.tokenize inside an isolate on %s", (kind) => {
  const socket = tempSocket(`tokenize-${kind}`);
  let runtime: Started;
  let g: FunctionGateway;
  let tok: Tokenizer;
  beforeAll(async () => {
    tok = await loadTokenizer(fixtureDir(MODEL));
    runtime = await startGust(
      ["runtime", "--model", fixtureDir(MODEL), "--socket", socket, "--num-blocks", "64"],
      /serving/,
    );
    g = await startFunctionGateway(kind, await freePort(), ["--runtime", socket]);
    const res = await g.deploy("counter", counter);
    expect(res.status, await res.clone().text()).toBe(200);
  }, 90_000);
  afterAll(async () => {
    await g?.stop();
    await runtime?.stop();
  });

  const tokenize = (input: unknown) =>
    fetch(`${g.base}/fn/counter/`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(input),
    });

  it("plain text gets the tokenizer's ids", async () => {
    const text = "Hello, isolated world: ünïcödé and numbers 12345.";
    const res = await tokenize({ text });
    expect(res.status).toBe(200);
    expect((await res.json()).ids).toEqual(tok.encode(text));
  });

  it("chat messages get the chat encoding, control tokens included", async () => {
    const messages: InputMessage[] = [{ role: "system", content: "Be brief." }, {
      role: "user",
      content: "What is a tenant?",
    }];
    const res = await tokenize({ messages });
    expect(res.status).toBe(200);
    const ids = (await res.json()).ids;
    expect(ids).toEqual(encodeChat(tok, { messages }).ids);
    expect(ids).toContain(tok.controlId("[INST]"));
  });

  it("text sure to exceed the context is a 400 naming the field", async () => {
    const res = await tokenize({ text: "x".repeat(2_000_000) });
    expect(res.status).toBe(400);
    expect((await res.json()).error.message).toMatch(/^text: it is at least \d+ tokens and the model's context holds/);
  });
});
