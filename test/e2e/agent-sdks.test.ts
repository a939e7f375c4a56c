// Coding agents' SDKs against `gust dev` on gust-mini, over real sockets: openai's Responses API (stream and not, a
// function-tool round trip), @anthropic-ai/sdk's Messages API (text, tool_use → tool_result, thinking with a
// budget, an image, streaming), @openai/agents on its default (Responses) API through a tool round trip, and the
// seed articles' requests as written (served names, a top-level budget_tokens, effort "max", an https image URL
// fetched through the SSRF-safe path from an allowed loopback host, max_tokens above the context clamped).
// Greedy answers are checked for what they must contain, as in gust-mini.test.ts.
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import { mkdtempSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Anthropic from "@anthropic-ai/sdk";
import { Agent, OpenAIProvider, Runner, setTracingDisabled, tool } from "@openai/agents";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultModelDir } from "../../runtime/config/default-model.ts";
import { fixturesDir } from "../helpers/fixtures.ts";
import { freePort, type Started, startGust } from "../helpers/processes.ts";

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const held = JSON.parse(readFileSync(join(defaultModelDir, "held.json"), "utf8")) as {
  entries: { name: string; request: { messages: { content: { type: string; image_url?: { url: string } }[] }[] } }[];
};
const redSquareUrl = held.entries.find((e) => e.name === "vision/red_square")!.request.messages[0].content[0].image_url!
  .url;
const redSquare = Buffer.from(redSquareUrl.slice(redSquareUrl.indexOf(",") + 1), "base64");
const QUESTION = "What color is the shape?";
/** Greedy answers; this SDK release no longer types `temperature`, which the API (and gust) still take. */
const greedy = { temperature: 0 } as object;
const RESULT = '{"city": "Paris", "temperature": 27, "condition": "sunny"}';
const citySchema = {
  type: "object" as const,
  properties: { city: { type: "string" as const, description: "City name" } },
  required: ["city" as const],
  additionalProperties: false as const,
};

let dev: Started | undefined;
let images: Server;
let imagePort = 0;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  // an https image server on loopback, trusted by the gateway through NODE_EXTRA_CA_CERTS and --image-url-allow
  const tls = join(fixturesDir, "tls");
  images = createServer(
    { key: readFileSync(join(tls, "localhost-key.pem")), cert: readFileSync(join(tls, "localhost-cert.pem")) },
    (_req, res) => res.writeHead(200, { "content-type": "image/png" }).end(redSquare),
  );
  await new Promise<void>((r) => images.listen(0, "127.0.0.1", r));
  imagePort = (images.address() as AddressInfo).port;
  const noFunctions = mkdtempSync(join(tmpdir(), "gust-agents-e2e-"));
  dev = await startGust(
    [
      "dev",
      "--functions",
      noFunctions,
      "--port",
      String(port),
      "--served-model-name",
      "gust-mini",
      "--served-model-name",
      "mistral-medium-3.5",
      "--image-url-allow",
      `localhost:${imagePort}`,
    ],
    /ready on/,
    90_000,
    { NODE_EXTRA_CA_CERTS: join(tls, "localhost-cert.pem") },
  );
  openai = new OpenAI({ baseURL: `${base}/v1`, apiKey: "unused", maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: base, apiKey: "unused", maxRetries: 0 });
}, 100_000);
afterAll(async () => {
  await dev?.stop("SIGINT");
  images?.close();
});

const weatherTool = {
  type: "function" as const,
  name: "get_weather",
  description: "Get the current weather in a city.",
  parameters: citySchema,
  strict: true,
};

describe("openai responses.create", () => {
  it("answers arithmetic, one-shot", async () => {
    const r = await openai.responses.create({ model: "gust-mini", input: "What is 23 + 19?", temperature: 0 });
    expect(r.status).toBe("completed");
    expect(r.output_text).toContain("42");
    expect(r.usage!.output_tokens).toBeGreaterThan(0);
  });

  it("streams the same answer, ending with response.completed", async () => {
    const stream = await openai.responses.create({
      model: "gust-mini",
      input: "What is 23 + 19?",
      temperature: 0,
      stream: true,
      store: false,
    });
    const types: string[] = [];
    let text = "";
    let final: OpenAI.Responses.Response | undefined;
    for await (const e of stream) {
      types.push(e.type);
      if (e.type === "response.output_text.delta") text += e.delta;
      if (e.type === "response.completed") final = e.response;
    }
    expect(types[0]).toBe("response.created");
    expect(types.at(-1)).toBe("response.completed");
    expect(text).toContain("42");
    expect(
      final!.output_text ??
        final!.output.map((o) =>
          o.type === "message" ? o.content.map((c) => c.type === "output_text" ? c.text : "").join("") : ""
        ).join(""),
    ).toContain("42");
  });

  it("a function-tool round trip with function_call_output", async () => {
    const first = await openai.responses.create({
      model: "gust-mini",
      input: "What's the weather like in Paris?",
      tools: [weatherTool],
      temperature: 0,
    });
    const call = first.output.find((o) => o.type === "function_call");
    expect(call?.type === "function_call" && call.name).toBe("get_weather");
    expect(JSON.parse(call!.type === "function_call" ? call!.arguments : "{}").city).toBe("Paris");
    const second = await openai.responses.create({
      model: "gust-mini",
      input: [
        { role: "user", content: "What's the weather like in Paris?" },
        ...(first.output as OpenAI.Responses.ResponseInputItem[]),
        { type: "function_call_output", call_id: call!.type === "function_call" ? call!.call_id : "", output: RESULT },
      ],
      tools: [weatherTool],
      temperature: 0,
    });
    expect(second.output_text).toContain("27");
    expect(second.output_text).toMatch(/sunny/);
    // the conversation's second request reuses the first one's prompt from the prefix cache (whole KV blocks)
    expect(second.usage!.input_tokens_details.cached_tokens).toBeGreaterThan(first.usage!.input_tokens / 2);
  });
});

describe("@anthropic-ai/sdk messages", () => {
  it("messages.create answers text", async () => {
    const m = await anthropic.messages.create({
      model: "mistral-medium-3.5",
      max_tokens: 64,
      ...greedy,
      messages: [{ role: "user", content: "What is 23 + 19?" }],
    });
    expect(m.stop_reason).toBe("end_turn");
    expect(m.content.map((b) => (b.type === "text" ? b.text : "")).join("")).toContain("42");
  });

  it("a tool_use → tool_result round trip", async () => {
    const tools = [{
      name: "get_weather",
      description: "Get the current weather in a city.",
      input_schema: citySchema,
    }];
    const question = { role: "user" as const, content: "What's the weather like in Paris?" };
    const first = await anthropic.messages.create({
      model: "gust-mini",
      max_tokens: 64,
      ...greedy,
      tools,
      messages: [question],
    });
    expect(first.stop_reason).toBe("tool_use");
    const use = first.content.find((b) => b.type === "tool_use");
    expect(use?.type === "tool_use" && use.name).toBe("get_weather");
    expect((use as { input: { city: string } }).input.city).toBe("Paris");
    const second = await anthropic.messages.create({
      model: "gust-mini",
      max_tokens: 64,
      ...greedy,
      tools,
      messages: [question, { role: "assistant", content: first.content }, {
        role: "user",
        content: [{ type: "tool_result", tool_use_id: use!.type === "tool_use" ? use!.id : "", content: RESULT }],
      }],
    });
    const text = second.content.map((b) => (b.type === "text" ? b.text : "")).join("");
    expect(text).toContain("27");
    expect(text).toMatch(/sunny/);
  });

  it("thinking with a budget yields a thinking block of at most that many tokens, then an answer", async () => {
    const m = await anthropic.messages.create({
      model: "gust-mini",
      max_tokens: 128,
      ...greedy,
      thinking: { type: "enabled", budget_tokens: 1024 },
      messages: [{ role: "user", content: "What is 48 + 37?" }],
    });
    const thinking = m.content.find((b) => b.type === "thinking");
    expect(thinking?.type === "thinking" && thinking.thinking).not.toBe("");
    expect(m.content.map((b) => (b.type === "text" ? b.text : "")).join("")).toMatch(/48 \+ 37 = \d+/);
  });

  it("an image (base64 block) is seen: the red square is red", async () => {
    const m = await anthropic.messages.create({
      model: "gust-mini",
      max_tokens: 16,
      ...greedy,
      messages: [{
        role: "user",
        content: [
          { type: "image", source: { type: "base64", media_type: "image/png", data: redSquare.toString("base64") } },
          { type: "text", text: QUESTION },
        ],
      }],
    });
    expect(m.content.map((b) => (b.type === "text" ? b.text : "")).join("")).toMatch(/\bred\b/);
  });

  it("messages.stream folds the events into the final message", async () => {
    const stream = anthropic.messages.stream({
      model: "gust-mini",
      max_tokens: 64,
      ...greedy,
      messages: [{ role: "user", content: "What is 23 + 19?" }],
    });
    let text = "";
    stream.on("text", (t) => (text += t));
    const final = await stream.finalMessage();
    expect(text).toContain("42");
    expect(final.content.map((b) => (b.type === "text" ? b.text : "")).join("")).toBe(text);
    expect(final.usage.output_tokens).toBeGreaterThan(0);
  });
});

describe("@openai/agents on its default (Responses) API", () => {
  it("completes a tool round trip", async () => {
    setTracingDisabled(true);
    const calls: string[] = [];
    const getWeather = tool({
      name: "get_weather",
      description: "Get the current weather in a city.",
      parameters: citySchema,
      strict: true,
      execute: async (input) => {
        calls.push((input as { city: string }).city);
        return RESULT;
      },
    });
    const agent = new Agent({
      name: "weather",
      model: "gust-mini",
      tools: [getWeather],
      modelSettings: { temperature: 0 },
    });
    const runner = new Runner({ modelProvider: new OpenAIProvider({ baseURL: `${base}/v1`, apiKey: "unused" }) });
    const result = await runner.run(agent, "What's the weather like in Paris?");
    expect(calls).toEqual(["Paris"]);
    expect(String(result.finalOutput)).toContain("27");
  });
});

describe("the seed articles' requests, as written", () => {
  it("served names: every name is listed and accepted", async () => {
    const models = await openai.models.list();
    expect(models.data.map((m) => m.id)).toEqual(["gust-mini", "mistral-medium-3.5"]);
    const r = await openai.chat.completions.create({
      model: "mistral-medium-3.5",
      messages: [{ role: "user", content: "What is 23 + 19?" }],
      temperature: 0,
      max_tokens: 32,
    });
    expect(r.model).toBe("mistral-medium-3.5");
  });

  it("a top-level budget_tokens (extra_body) yields reasoning; effort max is accepted", async () => {
    for (const extra of [{ budget_tokens: 4096 }, { reasoning_effort: "max" }]) {
      const r = await openai.chat.completions.create({
        model: "gust-mini",
        messages: [{ role: "user", content: "What is 48 + 37?" }],
        temperature: 0,
        max_tokens: 128,
        ...(extra as object),
      });
      const usage = r.usage as { completion_tokens_details?: { reasoning_tokens?: number } };
      expect(usage.completion_tokens_details?.reasoning_tokens, JSON.stringify(extra)).toBeGreaterThan(0);
    }
  });

  it("an https image URL is fetched from an allowed loopback host; a private host not allowed is refused", async () => {
    const r = await openai.chat.completions.create({
      model: "gust-mini",
      temperature: 0,
      max_tokens: 16,
      messages: [{
        role: "user",
        content: [
          { type: "image_url", image_url: { url: `https://localhost:${imagePort}/red.png` } },
          { type: "text", text: QUESTION },
        ],
      }],
    });
    expect(r.choices[0].message.content).toMatch(/\bred\b/);
    const refused = await fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "http://127.0.0.1:9/x.png" } }] }],
      }),
    });
    expect(refused.status).toBe(403);
    expect((await refused.json()).error.message).toMatch(/--image-url-allow HOST\[:PORT\]/);
  });

  it("max_tokens above the room left is clamped and says so; a prompt alone over the context is a 400 naming both numbers", async () => {
    const res = await fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        messages: [{ role: "user", content: "What is 23 + 19?" }],
        max_tokens: 10_000_000,
        temperature: 0,
      }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-gust-max-tokens-clamped")).toMatch(/^10000000 -> \d+$/);
    // the served context (the model's, or less where the KV pool is smaller), and a prompt longer than it
    const context = (await openai.models.list()).data[0] as unknown as { max_model_len: number };
    const long = await fetch(`${base}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        max_tokens: 10,
        messages: [{ role: "user", content: "word ".repeat(context.max_model_len + 100) }],
      }),
    });
    expect(long.status).toBe(400);
    const body = await long.json();
    expect(body.type).toBe("error");
    expect(body.error.message).toMatch(/\d+ tokens.*context holds \d+/);
  });
});
