// POST /v1/responses over the fake runtime: the request's items reach the chat encoder, the answer comes back as a
// `response` object or its event sequence (the same response at the end), hosted tools are dropped with a warning,
// previous_response_id continues a stored conversation, and bad input is a 400 naming the Responses field.
import { describe, expect, it } from "vitest";
import { ids } from "../helpers/fake-binding.ts";
import { testGateway } from "../helpers/gateway.ts";

const PATH = "/v1/responses";
const WEATHER = {
  type: "function",
  name: "get_weather",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
};

async function post(g: ReturnType<typeof testGateway>, body: unknown) {
  const res = await g.post(PATH, body);
  return { status: res.status, headers: res.headers, body: await res.json() };
}

/** The `data:` events of an SSE body, each with its `event:` name. */
async function events(res: Response) {
  const text = await res.text();
  return text.split("\n\n").filter((b) => b.includes("data: ")).map((block) => {
    const name = /^event: (.+)$/m.exec(block)?.[1];
    const data = JSON.parse(/^data: (.+)$/m.exec(block)![1]);
    return { name, data };
  });
}

describe("POST /v1/responses", () => {
  it("answers a string input with a message item and usage", async () => {
    const g = testGateway();
    const { status, body } = await post(g, { model: "tiny-mistral3", input: "Hi", instructions: "Be brief." });
    expect(status).toBe(200);
    expect(body).toMatchObject({
      id: expect.stringMatching(/^resp_/),
      object: "response",
      status: "completed",
      model: "tiny-mistral3",
      instructions: "Be brief.",
      output: [{
        type: "message",
        role: "assistant",
        status: "completed",
        content: [{ type: "output_text", text: "Hello there", annotations: [] }],
      }],
      usage: {
        input_tokens: g.fake.lastCall.options.promptIds.length,
        output_tokens: ids("Hello there", "</s>").length,
        total_tokens: g.fake.lastCall.options.promptIds.length + ids("Hello there", "</s>").length,
      },
    });
    const prompt = g.fake.info.tokenizer.decode(g.fake.lastCall.options.promptIds, "show");
    expect(prompt).toContain("Be brief.");
    expect(prompt).toContain("Hi");
  });

  it("items carry reasoning, calls and their outputs into the prompt", async () => {
    const g = testGateway();
    const { status } = await post(g, {
      input: [
        { role: "user", content: [{ type: "input_text", text: "Weather in Paris?" }] },
        { type: "reasoning", id: "rs_1", summary: [{ type: "summary_text", text: "call the tool" }] },
        { type: "function_call", call_id: "call_1", name: "get_weather", arguments: '{"city": "Paris"}' },
        { type: "function_call_output", call_id: "call_1", output: '{"temperature": 27}' },
      ],
      tools: [WEATHER],
    });
    expect(status).toBe(200);
    const prompt = g.fake.info.tokenizer.decode(g.fake.lastCall.options.promptIds, "show");
    expect(prompt).toMatch(/\[TOOL_CALLS\]get_weather\[ARGS\]\{"city": "Paris"\}/);
    expect(prompt).toContain('{"temperature": 27}');
    // function tools are strict unless they say otherwise: the name and the arguments are held
    expect(g.fake.lastCall.options.toolCalls).toEqual({
      tools: [{ name: "get_weather", parameters: WEATHER.parameters }],
      parallel: true,
      optional: true,
    });
  });

  it("a call comes back as a function_call item; hosted tools are dropped with a warning", async () => {
    const g = testGateway();
    g.fake.reply(ids("[TOOL_CALLS]", "get_weather", "[ARGS]", '{"city": "Paris"}', "</s>"));
    const { body, headers } = await post(g, {
      input: "Weather in Paris?",
      tools: [WEATHER, { type: "web_search" }],
      store: false,
    });
    expect(body.output).toEqual([{
      type: "function_call",
      id: expect.stringMatching(/^fc_/),
      status: "completed",
      call_id: expect.stringMatching(/^call_/),
      name: "get_weather",
      arguments: '{"city": "Paris"}',
    }]);
    expect(body.warnings).toEqual([
      expect.stringMatching(/tools\[1\]: the "web_search" tool runs on OpenAI's servers/),
    ]);
    expect(headers.get("x-gust-warning")).toMatch(/web_search/);
  });

  it("streams the event sequence the SDKs fold, ending with the same response", async () => {
    const g = testGateway();
    g.fake.reply(ids("[THINK]", "hmm", "[/THINK]", "Hello there", "</s>"));
    const res = await g.post(PATH, { input: "Hi", stream: true, store: false });
    expect(res.headers.get("content-type")).toMatch(/text\/event-stream/);
    const got = await events(res);
    expect(got.every((e) => e.name === e.data.type)).toBe(true);
    expect(got.map((e) => e.data.sequence_number)).toEqual(got.map((_, i) => i));
    // consecutive deltas of one kind count once here
    const types = got.map((e) => e.data.type).filter((t, i, all) => !(t.endsWith(".delta") && all[i - 1] === t));
    expect(types).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      "response.reasoning_text.delta",
      "response.reasoning_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.delta",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
    const final = got.at(-1)!.data.response;
    expect(final.output.map((o: any) => o.type)).toEqual(["reasoning", "message"]);
    expect(final.output[0].content[0].text).toBe("hmm");
    expect(final.output[1].content[0].text).toBe("Hello there");
    g.fake.reply(ids("[THINK]", "hmm", "[/THINK]", "Hello there", "</s>"));
    const once = (await post(g, { input: "Hi", store: false })).body;
    expect(once.output.map((o: any) => [o.type, o.content[0].text])).toEqual(
      final.output.map((o: any) => [o.type, o.content[0].text]),
    );
  });

  it("previous_response_id continues a stored conversation; an unknown id is a 400 naming it", async () => {
    const g = testGateway();
    const first = (await post(g, { input: "Remember 7." })).body;
    await post(g, { input: "What did I say?", previous_response_id: first.id });
    const prompt = g.fake.info.tokenizer.decode(g.fake.lastCall.options.promptIds, "show");
    expect(prompt).toMatch(/Remember 7\.[\s\S]*Hello there[\s\S]*What did I say\?/);
    const missing = await post(g, { input: "x", previous_response_id: "resp_nope" });
    expect(missing.status).toBe(400);
    expect(missing.body.error.param).toBe("previous_response_id");
  });

  it("a gateway default temperature applies, in every dialect, to requests that send none", async () => {
    const g = testGateway({ limits: { defaultTemperature: 0 } });
    await post(g, { input: "Hi", store: false });
    expect(g.fake.lastCall.options.sampling?.temperature).toBe(0);
    await g.post("/v1/messages", { max_tokens: 8, messages: [{ role: "user", content: "Hi" }] });
    expect(g.fake.lastCall.options.sampling?.temperature).toBe(0);
    await g.post("/v1/chat/completions", { messages: [{ role: "user", content: "Hi" }], temperature: 0.7 });
    expect(g.fake.lastCall.options.sampling?.temperature).toBe(0.7);
    await post(testGateway(), { input: "Hi" });
  });

  const bad: [string, Record<string, unknown>, string][] = [
    ["no input", {}, "input"],
    ["an unknown item type", { input: [{ type: "computer_call" }] }, "input[0].type"],
    [
      "an unknown content part",
      { input: [{ role: "user", content: [{ type: "input_file" }] }] },
      "input[0].content[0].type",
    ],
    [
      "a call output without its call",
      { input: [{ role: "user", content: "x" }, { type: "function_call_output", call_id: "c9", output: "x" }] },
      "input[1]",
    ],
    ["a negative max_output_tokens", { input: "x", max_output_tokens: -1 }, "max_output_tokens"],
    ["a negative budget", { input: "x", reasoning: { budget_tokens: -5 } }, "reasoning.budget_tokens"],
    ["an unknown effort", { input: "x", reasoning: { effort: "ludicrous" } }, "reasoning.effort"],
    [
      "a schema gust cannot hold",
      { input: "x", text: { format: { type: "json_schema", schema: { type: "bogus" } } } },
      "text.format.schema",
    ],
    ["background", { input: "x", background: true }, "background"],
  ];
  for (const [name, body, param] of bad) {
    it(`400 for ${name}, naming ${param}`, async () => {
      const r = await post(testGateway(), body);
      expect(r.status).toBe(400);
      expect(r.body.error.param.startsWith(param)).toBe(true);
      expect(r.body.error.message).toContain(param);
    });
  }
});
