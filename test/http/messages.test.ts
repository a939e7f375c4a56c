// Anthropic's Messages API over the fake runtime: blocks reach the chat encoder, thinking maps onto the reasoning
// budget, the answer comes back as a message or its event stream, and every error (the middleware's too) is in
// Anthropic's shape with the field named.
import { describe, expect, it } from "vitest";
import { ids } from "../helpers/fake-binding.ts";
import { testGateway } from "../helpers/gateway.ts";

const PATH = "/v1/messages";
const WEATHER = {
  name: "get_weather",
  description: "Weather in a city",
  input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
};
const base = { model: "tiny-mistral3", max_tokens: 64 };

async function post(g: ReturnType<typeof testGateway>, body: unknown, path = PATH, headers = {}) {
  const res = await g.post(path, body, { headers });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

describe("POST /v1/messages", () => {
  it("answers in Anthropic's message shape", async () => {
    const g = testGateway();
    const { status, body } = await post(g, {
      ...base,
      system: [{ type: "text", text: "Be brief.", cache_control: { type: "ephemeral" } }],
      messages: [{ role: "user", content: "Hi" }],
    }, `${PATH}?beta=true`);
    expect(status).toBe(200);
    expect(body).toEqual({
      id: expect.stringMatching(/^msg_/),
      type: "message",
      role: "assistant",
      model: "tiny-mistral3",
      content: [{ type: "text", text: "Hello there" }],
      stop_reason: "end_turn",
      stop_sequence: null,
      usage: {
        input_tokens: g.fake.lastCall.options.promptIds.length,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
        output_tokens: ids("Hello there", "</s>").length,
      },
    });
    expect(g.fake.info.tokenizer.decode(g.fake.lastCall.options.promptIds, "show")).toContain("Be brief.");
  });

  it("tool_use → tool_result round trip: blocks become calls and results; a call comes back as tool_use", async () => {
    const g = testGateway();
    g.fake.reply(ids("[TOOL_CALLS]", "get_weather", "[ARGS]", '{"city": "Oslo"}', "</s>"));
    const { body } = await post(g, {
      ...base,
      tools: [WEATHER, { type: "web_search_20250305", name: "web_search" }],
      messages: [{ role: "user", content: "Weather in Oslo?" }],
    });
    expect(body.stop_reason).toBe("tool_use");
    expect(body.content).toEqual([{
      type: "tool_use",
      id: expect.stringMatching(/^toolu_/),
      name: "get_weather",
      input: { city: "Oslo" },
    }]);
    expect(g.fake.lastCall.options.toolCalls).toEqual({
      tools: [{ name: "get_weather", parameters: WEATHER.input_schema }],
      parallel: true,
      optional: true,
    });
    g.fake.reply(ids("It is 27 degrees", "</s>"));
    const second = await post(g, {
      ...base,
      tools: [WEATHER],
      messages: [
        { role: "user", content: "Weather in Oslo?" },
        { role: "assistant", content: body.content },
        { role: "user", content: [{ type: "tool_result", tool_use_id: body.content[0].id, content: "27 C" }] },
      ],
    });
    expect(second.status).toBe(200);
    const prompt = g.fake.info.tokenizer.decode(g.fake.lastCall.options.promptIds, "show");
    expect(prompt).toMatch(/get_weather\[ARGS\]\{"city": "Oslo"\}[\s\S]*\[TOOL_RESULTS\]27 C/);
  });

  it("thinking with a budget reaches the runtime as the reasoning budget; disabled as none", async () => {
    const g = testGateway();
    g.fake.reply(ids("[THINK]", "hmm", "[/THINK]", "Hello there", "</s>"));
    const { body } = await post(g, {
      ...base,
      thinking: { type: "enabled", budget_tokens: 32 },
      messages: [{ role: "user", content: "Hi" }],
    });
    expect(g.fake.lastCall.options.reasoningBudget).toBe(32);
    expect(body.content).toEqual([{ type: "thinking", thinking: "hmm", signature: "" }, {
      type: "text",
      text: "Hello there",
    }]);
    await post(g, { ...base, thinking: { type: "disabled" }, messages: [{ role: "user", content: "Hi" }] });
    expect(g.fake.lastCall.options.reasoningBudget).toBe(0);
  });

  it("streams message_start … message_stop with named events", async () => {
    const g = testGateway();
    g.fake.reply(ids("[THINK]", "hmm", "[/THINK]", "Hello there", "</s>"));
    const res = await g.post(PATH, { ...base, stream: true, messages: [{ role: "user", content: "Hi" }] });
    const blocks = (await res.text()).split("\n\n").filter((b) => b.includes("data: "));
    const got = blocks.map((b) => ({
      name: /^event: (.+)$/m.exec(b)?.[1],
      data: JSON.parse(/^data: (.+)$/m.exec(b)![1]),
    }));
    expect(got.every((e) => e.name === e.data.type)).toBe(true);
    const types = got.map((e) => e.data.type);
    expect(types.slice(0, 4)).toEqual(["message_start", "ping", "content_block_start", "content_block_delta"]);
    expect(types.slice(-2)).toEqual(["message_delta", "message_stop"]);
    expect(got[2].data.content_block.type).toBe("thinking");
    expect(got.some((e) => e.data.delta?.type === "text_delta")).toBe(true);
    expect(got.at(-2)!.data).toMatchObject({
      delta: { stop_reason: "end_turn" },
      usage: { output_tokens: ids("[THINK]", "hmm", "[/THINK]", "Hello there", "</s>").length },
    });
  });

  it("count_tokens counts the prompt; HEAD / answers; x-api-key authenticates", async () => {
    const g = testGateway({ apiKeys: ["k1"] });
    const counted = await post(
      g,
      { model: "tiny-mistral3", messages: [{ role: "user", content: "Hi" }] },
      "/v1/messages/count_tokens",
      { "x-api-key": "k1" },
    );
    expect(counted.body.input_tokens).toBeGreaterThan(2);
    expect((await g.app.request("/", { method: "HEAD" })).status).toBe(200);
    const denied = await post(g, { ...base, messages: [{ role: "user", content: "Hi" }] }, PATH, {
      "x-api-key": "nope",
    });
    expect(denied.status).toBe(401);
    expect(denied.body).toMatchObject({
      type: "error",
      error: { type: "authentication_error", message: expect.any(String) },
    });
  });

  it("count_tokens counts a prompt longer than the context, which /v1/messages refuses", async () => {
    const g = testGateway();
    const long = { model: "tiny-mistral3", messages: [{ role: "user", content: "word ".repeat(6000) }] };
    const counted = await post(g, long, "/v1/messages/count_tokens");
    expect(counted.status, JSON.stringify(counted.body)).toBe(200);
    expect(counted.body.input_tokens).toBeGreaterThan(4096);
    const refused = await post(g, { ...long, max_tokens: 16 });
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toContain(`${counted.body.input_tokens} tokens`);
  });

  const bad: [string, Record<string, unknown>, string][] = [
    ["missing max_tokens", { messages: [{ role: "user", content: "x" }] }, "max_tokens"],
    [
      "an unknown block type",
      { ...base, messages: [{ role: "user", content: [{ type: "document" }] }] },
      "messages[0].content[0].type",
    ],
    [
      "a tool_result without a matching tool_use",
      {
        ...base,
        messages: [{ role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_x", content: "1" }] }],
      },
      "messages[0].content[0].tool_use_id",
    ],
    ["a negative thinking budget", {
      ...base,
      thinking: { type: "enabled", budget_tokens: -1 },
      messages: [{ role: "user", content: "x" }],
    }, "thinking.budget_tokens"],
    ["an unknown role", { ...base, messages: [{ role: "tool", content: "x" }] }, "messages[0].role"],
    ["an unknown tool_choice", {
      ...base,
      tool_choice: { type: "sometimes" },
      messages: [{ role: "user", content: "x" }],
    }, "tool_choice.type"],
    [
      "a tool without input_schema",
      { ...base, tools: [{ name: "f" }], messages: [{ role: "user", content: "x" }] },
      "tools[0].input_schema",
    ],
    ["a temperature above 1", { ...base, temperature: 1.5, messages: [{ role: "user", content: "x" }] }, "temperature"],
  ];
  for (const [name, body, field] of bad) {
    it(`400 in Anthropic's shape for ${name}, naming ${field}`, async () => {
      const r = await post(testGateway(), body);
      expect(r.status).toBe(400);
      expect(r.body.type).toBe("error");
      expect(r.body.error.type).toBe("invalid_request_error");
      expect(r.body.error.message).toContain(field);
    });
  }
});
