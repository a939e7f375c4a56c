// End to end with real processes: a runtime on the tiny fixture model, a gateway on Bun and the same
// suite on Deno, real HTTP clients (`openai`, `@mistralai/mistralai`), deploys, disconnects and a
// runtime restart.
import { Mistral } from "@mistralai/mistralai";
import OpenAI from "openai";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleFunction } from "../../edge/functions/bundle.ts";
import { loadTokenizer } from "../../runtime/text/index.ts";
import { fixtureDir } from "../helpers/fixtures.ts";
import { scrapeMetric } from "../helpers/metrics.ts";
import { startDenoGateway, type Started, startGust, tempSocket } from "../helpers/processes.ts";

const MODEL = "tiny-mistral3";
const runtimeArgs = (
  socket: string,
) => ["runtime", "--model", fixtureDir(MODEL), "--socket", socket, "--num-blocks", "256", "--max-num-seqs", "16"];

const metric = scrapeMetric;
const ADMIN_KEY = "e2e-admin-key";

async function until(check: () => Promise<boolean>, what: string, tries = 200): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe.each(["bun", "deno"] as const)("gateway on %s", (kind) => {
  const socket = tempSocket(`rt-${kind}`);
  const stateDir = mkdtempSync(join(tmpdir(), `gust-gw-${kind}-`));
  const port = kind === "bun" ? 18431 : 18432;
  const base = `http://127.0.0.1:${port}`;
  let runtime: Started, gateway: Started;
  const openai = new OpenAI({ baseURL: `${base}/v1`, apiKey: "unused", maxRetries: 0 });
  const mistral = new Mistral({ serverURL: `${base}/mistral`, apiKey: "unused" });

  beforeAll(async () => {
    runtime = await startGust(runtimeArgs(socket), /serving/);
    const args = ["--runtime", socket, "--port", String(port), "--state-dir", stateDir, "--admin-key", ADMIN_KEY];
    gateway = kind === "bun" ? await startGust(["serve", ...args], /gateway on/) : await startDenoGateway(args);
  }, 90_000);
  afterAll(async () => {
    await gateway?.stop();
    await runtime?.stop();
  });

  it("answers the openai client, non-streaming and streaming with usage", async () => {
    const r = await openai.chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: "Hello" }],
      max_tokens: 8,
      temperature: 0,
    });
    expect(r.object).toBe("chat.completion");
    expect(r.choices[0].finish_reason).toBe("length");
    expect(r.usage?.completion_tokens).toBe(8);
    const stream = await openai.chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: "Hello" }],
      max_tokens: 8,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "", usage;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe(r.choices[0].message.content);
    expect(usage).toMatchObject({ completion_tokens: 8 });
  });

  it("returns log-probabilities from the runtime only when asked", async () => {
    const asked = await openai.chat.completions.create(
      {
        model: MODEL,
        messages: [{ role: "user", content: "Hello" }],
        max_tokens: 6,
        temperature: 0,
        logprobs: true,
        top_logprobs: 2,
        ignore_eos: true,
      } as never,
    );
    const entries = (asked as OpenAI.Chat.ChatCompletion).choices[0].logprobs!.content!;
    expect(entries.length).toBeGreaterThan(0);
    for (const e of entries) {
      expect(Number.isFinite(e.logprob) && e.logprob <= 0).toBe(true);
      expect(e.top_logprobs).toHaveLength(2);
      expect(e.top_logprobs[0].logprob).toBeGreaterThanOrEqual(e.logprob); // greedy picks the most likely
    }
    const quiet = await openai.chat.completions.create(
      {
        model: MODEL,
        messages: [{ role: "user", content: "Hello" }],
        max_tokens: 6,
        temperature: 0,
        ignore_eos: true,
      } as never,
    ) as OpenAI.Chat.ChatCompletion;
    expect(quiet.choices[0].logprobs).toBeNull();
    expect(quiet.choices[0].message.content).toBe((asked as OpenAI.Chat.ChatCompletion).choices[0].message.content);
  });

  it("accepts tools through the openai client", async () => {
    const r = await openai.chat.completions.create({
      model: MODEL,
      max_tokens: 6,
      temperature: 0,
      messages: [{ role: "user", content: "add 2 and 3" }],
      tools: [{
        type: "function",
        function: { name: "add", parameters: { type: "object", properties: { a: { type: "number" } } } },
      }],
    });
    expect(["length", "stop", "tool_calls"]).toContain(r.choices[0].finish_reason);
  });

  it("response_format json_object gives the openai client JSON objects (and the mistral client too)", async () => {
    const tok = await loadTokenizer(fixtureDir(MODEL));
    // biases toward closing quotes and braces so the random model's documents end inside the context
    const logit_bias = { [tok.encode('"')[0]]: 4, [tok.encode("}")[0]]: 4 };
    const r = await openai.chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: "Give me JSON" }],
      max_tokens: 150,
      n: 3,
      seed: 4,
      temperature: 1,
      logit_bias,
      response_format: { type: "json_object" },
    });
    for (const choice of r.choices) {
      expect(choice.finish_reason).toBe("stop");
      const value = JSON.parse(choice.message.content!);
      expect(value !== null && typeof value === "object" && !Array.isArray(value)).toBe(true);
    }
    const schema = {
      type: "object",
      properties: { city: { type: "string" }, sunny: { type: "boolean" } },
      required: ["city", "sunny"],
      additionalProperties: false,
    };
    const s = await openai.chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: "Weather?" }],
      max_tokens: 150,
      n: 3,
      seed: 5,
      temperature: 1,
      logit_bias,
      response_format: { type: "json_schema", json_schema: { name: "weather", schema, strict: true } },
    });
    const stopped = s.choices.filter((c) => c.finish_reason === "stop");
    expect(stopped.length).toBeGreaterThan(0);
    for (const c of stopped) {
      const v = JSON.parse(c.message.content!);
      expect(Object.keys(v)).toEqual(["city", "sunny"]);
      expect(typeof v.city).toBe("string");
      expect(typeof v.sunny).toBe("boolean");
    }
    const m = await mistral.chat.complete({
      model: MODEL,
      messages: [{ role: "user", content: "Give me JSON" }],
      maxTokens: 150,
      randomSeed: 4,
      temperature: 1,
      responseFormat: { type: "json_object" },
    });
    const mc = m.choices[0]!;
    if (mc.finishReason === "stop") expect(() => JSON.parse(mc.message!.content as string)).not.toThrow();
    else expect(mc.finishReason).toBe("length");
    expect(String(mc.message!.content).trimStart().startsWith("{")).toBe(true);
  });

  it("tool_choice required and a named function hold the openai client's answer to tool calls", async () => {
    const tok = await loadTokenizer(fixtureDir(MODEL));
    const logit_bias = { [tok.encode('"')[0]]: 3, [tok.encode("}")[0]]: 3 };
    // short tool definitions: the tiny model's context is 256 tokens, mostly single bytes
    const bare = [{ type: "function" as const, function: { name: "w" } }, {
      type: "function" as const,
      function: { name: "t" },
    }];
    const typed = [{
      type: "function" as const,
      function: { name: "t", parameters: { type: "object", properties: { z: { enum: ["U", "C"] } }, required: ["z"] } },
    }];
    const ask = (tools: OpenAI.Chat.ChatCompletionTool[], tool_choice: OpenAI.Chat.ChatCompletionToolChoiceOption) =>
      openai.chat.completions.create({
        model: MODEL,
        messages: [{ role: "user", content: "Use a tool" }],
        max_tokens: 80,
        n: 3,
        seed: 6,
        temperature: 1,
        logit_bias,
        tools,
        tool_choice,
      });
    const required = await ask(bare, "required");
    const named = await ask(typed, { type: "function", function: { name: "t" } });
    for (const [r, names] of [[required, ["w", "t"]], [named, ["t"]]] as const) {
      const done = r.choices.filter((c) => c.finish_reason === "tool_calls");
      expect(done.length, JSON.stringify(r.choices.map((c) => c.finish_reason))).toBeGreaterThan(0);
      expect(r.choices.every((c) => c.finish_reason === "tool_calls" || c.finish_reason === "length")).toBe(true);
      for (const c of done) {
        expect(c.message.content ?? "").toBe("");
        for (const call of c.message.tool_calls!) {
          const fn = (call as { function: { name: string; arguments: string } }).function;
          expect(names).toContain(fn.name);
          const args = JSON.parse(fn.arguments);
          expect(typeof args).toBe("object");
          if (r === named) expect(["U", "C"]).toContain(args.z);
        }
      }
    }
    for (const c of named.choices) if (c.finish_reason === "tool_calls") expect(c.message.tool_calls).toHaveLength(1);
  });

  it("answers the mistral client at /mistral", async () => {
    const r = await mistral.chat.complete({
      model: MODEL,
      messages: [{ role: "user", content: "Hello" }],
      maxTokens: 6,
      temperature: 0,
      randomSeed: 3,
    });
    expect(r.choices[0].finishReason).toBe("length");
    expect(r.usage.completionTokens).toBe(6);
    const stream = await mistral.chat.stream({
      model: MODEL,
      messages: [{ role: "user", content: "Hello" }],
      maxTokens: 6,
      temperature: 0,
    });
    let events = 0;
    for await (const e of stream) if (e.data.choices.length > 0) events++;
    expect(events).toBeGreaterThan(1);
  });

  it("8 concurrent greedy requests each equal the same request sent alone", async () => {
    const ask = (i: number) =>
      openai.chat.completions.create({
        model: MODEL,
        messages: [{ role: "user", content: `question number ${i}` }],
        max_tokens: 10,
        temperature: 0,
      })
        .then((r) => r.choices[0].message.content);
    const together = await Promise.all(Array.from({ length: 8 }, (_, i) => ask(i)));
    for (let i = 0; i < 8; i++) expect(together[i]).toBe(await ask(i));
  });

  it("a client that disconnects mid-stream leaves no KV blocks in use", async () => {
    const ac = new AbortController();
    const res = await fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      signal: ac.signal,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: MODEL,
        messages: [{ role: "user", content: "long story" }],
        max_tokens: 200,
        stream: true,
        temperature: 0,
      }),
    });
    const reader = res.body!.getReader();
    await reader.read();
    ac.abort();
    await until(async () => (await metric(base, "gust_kv_blocks_used")) === 0, "KV blocks to return to the pool");
    expect(await metric(base, "gust_kv_blocks_used")).toBe(0);
    // the running gateway samples its event loop on each request and runtime read (a number, possibly 0 on an idle machine)
    expect(await metric(base, "gust_event_loop_lag_max_seconds")).toBeGreaterThanOrEqual(0);
    expect(await metric(base, "gust_event_loop_lag_seconds_count")).toBeGreaterThan(0);
  });

  it("a deploy during a stream lets it finish and routes the next request to the new version", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gust-fn-src-"));
    const source = (v: string) => `
      import { Hono } from "hono";
      import { defineFunction } from "gust/sdk";
      const app = new Hono();
      app.get("/", async (c) => {
        const stream = await c.var.model.stream({ messages: [{ role: "user", content: "hi" }], maxTokens: 40 });
        let n = 0;
        for await (const e of stream) if (e.type === "content") n++;
        return c.json({ version: "${v}", events: n });
      });
      app.get("/v", (c) => c.json({ version: "${v}" }));
      export default defineFunction({ name: "ver", app });`;
    const deploy = async (v: string) => {
      writeFileSync(join(dir, "f.ts"), source(v));
      const res = await fetch(`${base}/admin/functions/ver`, {
        method: "POST",
        body: await bundleFunction(join(dir, "f.ts")),
        headers: { "content-type": "application/javascript", "x-admin-key": ADMIN_KEY },
      });
      expect(res.status, await res.clone().text()).toBe(200);
    };
    await deploy("one");
    const running = fetch(`${base}/fn/ver/`).then((r) => r.json());
    await deploy("two");
    expect(await running).toMatchObject({ version: "one" });
    expect(await (await fetch(`${base}/fn/ver/v`)).json()).toEqual({ version: "two" });
  });

  it("bad input gets a 4xx naming the field, and the server stays up", async () => {
    const post = (body: string) =>
      fetch(`${base}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body });
    const cases: [string, number, RegExp][] = [
      ["{not json", 400, /JSON/i],
      [JSON.stringify({ model: MODEL, messages: "hi" }), 400, /messages/],
      [JSON.stringify({ model: MODEL, messages: [{ role: "wizard", content: "x" }] }), 400, /role/],
      [JSON.stringify({ model: MODEL, messages: [] }), 400, /messages/],
      [JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "x" }], max_tokens: 0 }), 400, /max_tokens/],
      [JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "word ".repeat(400) }] }), 400, /context/],
      [JSON.stringify({ model: "no-such-model", messages: [{ role: "user", content: "x" }] }), 404, /no-such-model/],
    ];
    for (const [body, status, message] of cases) {
      const res = await post(body);
      expect(res.status, body.slice(0, 60)).toBe(status);
      expect((await res.json()).error.message).toMatch(message);
    }
    expect((await fetch(`${base}/fn/..%2Fetc/x`)).status).toBe(400);
    expect((await fetch(`${base}/health`)).status).toBe(200);
  });

  it("fails fast with 503 while the runtime is down and recovers when it restarts", async () => {
    await runtime.stop("SIGKILL");
    await until(async () => (await fetch(`${base}/ready`)).status === 503, "the gateway to notice");
    const down = await fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "x" }], max_tokens: 2 }),
    });
    expect(down.status).toBe(503);
    expect((await down.json()).error.message).toMatch(/runtime/i);
    runtime = await startGust(runtimeArgs(socket), /serving/);
    await until(async () => (await fetch(`${base}/ready`)).status === 200, "the gateway to reconnect");
    const r = await openai.chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: "again" }],
      max_tokens: 3,
    });
    expect(r.choices[0].message.content).toBeTypeOf("string");
  });
});
