import { describe, expect, it } from "vitest";
import { ids } from "../helpers/fake-binding.ts";
import { testGateway, user } from "../helpers/gateway.ts";

const CHAT = "/v1/chat/completions";
const TOOLS = [{
  type: "function",
  function: {
    name: "get_weather",
    description: "Weather",
    parameters: { type: "object", properties: { city: { type: "string" } } },
  },
}];

async function chat(g: ReturnType<typeof testGateway>, body: Record<string, unknown>) {
  const res = await g.post(CHAT, body);
  return { status: res.status, body: await res.json() };
}

describe("POST /v1/chat/completions (one JSON answer)", () => {
  it("answers in OpenAI's shape", async () => {
    const g = testGateway();
    const { status, body } = await chat(g, { model: "tiny-mistral3", ...user("Hi") });
    expect(status).toBe(200);
    expect(body).toEqual({
      id: expect.stringMatching(/^chatcmpl-[0-9a-f]{24}$/),
      object: "chat.completion",
      created: Math.floor(g.clock.now() / 1000),
      model: "tiny-mistral3",
      system_fingerprint: null,
      choices: [{
        index: 0,
        message: { role: "assistant", content: "Hello there", refusal: null, reasoning: null, reasoning_content: null },
        logprobs: null,
        finish_reason: "stop",
      }],
      usage: {
        prompt_tokens: g.fake.lastCall.options.promptIds.length,
        completion_tokens: ids("Hello there", "</s>").length,
        total_tokens: g.fake.lastCall.options.promptIds.length + ids("Hello there", "</s>").length,
        prompt_tokens_details: { cached_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0, reasoning_budget_exhausted: false },
      },
    });
  });

  it("sends the chat-encoded prompt and the sampling parameters to the runtime", async () => {
    const g = testGateway();
    await chat(g, {
      ...user("Hi"),
      temperature: 0.3,
      top_p: 0.9,
      seed: 42,
      presence_penalty: 0.5,
      frequency_penalty: -0.5,
      top_k: 5,
      min_p: 0.1,
      repetition_penalty: 1.1,
      logit_bias: { "65": 3 },
      priority: 2,
    });
    const o = g.fake.lastCall.options;
    const tok = g.fake.info.tokenizer;
    expect(tok.decode(o.promptIds, "show")).toBe(
      '<s>[MODEL_SETTINGS]{"reasoning_effort": "none"}[/MODEL_SETTINGS][INST]Hi[/INST]',
    );
    expect(o.sampling).toEqual({
      temperature: 0.3,
      topP: 0.9,
      seed: 42,
      presencePenalty: 0.5,
      frequencyPenalty: -0.5,
      topK: 5,
      minP: 0.1,
      repetitionPenalty: 1.1,
      logitBias: { 65: 3 },
    });
    expect(o.priority).toBe(2);
    expect(o.n).toBe(1);
    expect(o.maxTokens).toBe(4096 - o.promptIds.length); // no max_tokens: all the room the context leaves
  });

  it("response_format json_object asks the runtime for a JSON-constrained answer; text and none ask for nothing", async () => {
    const g = testGateway();
    await chat(g, { ...user("Hi"), response_format: { type: "json_object" } });
    expect(g.fake.lastCall.options.responseFormat).toEqual({ type: "json_object" });
    await chat(g, { ...user("Hi"), response_format: { type: "text" } });
    expect(g.fake.lastCall.options.responseFormat).toBeUndefined();
    await chat(g, user("Hi"));
    expect(g.fake.lastCall.options.responseFormat).toBeUndefined();
    const schema = { type: "object", properties: { a: { type: "integer" } }, required: ["a"] };
    await chat(g, {
      ...user("Hi"),
      response_format: { type: "json_schema", json_schema: { name: "thing", schema, strict: true } },
    });
    expect(g.fake.lastCall.options.responseFormat).toEqual({ type: "json_schema", schema });
  });

  it("takes max_completion_tokens over max_tokens, and applies the operator default", async () => {
    const g = testGateway({ limits: { defaultMaxTokens: 100 } });
    await chat(g, { ...user("Hi"), max_tokens: 50, max_completion_tokens: 20 });
    expect(g.fake.lastCall.options.maxTokens).toBe(20);
    await chat(g, { ...user("Hi"), max_tokens: 50 });
    expect(g.fake.lastCall.options.maxTokens).toBe(50);
    await chat(g, user("Hi"));
    expect(g.fake.lastCall.options.maxTokens).toBe(100);
  });

  it("separates reasoning into reasoning and reasoning_content", async () => {
    const g = testGateway();
    g.fake.reply(ids("[THINK]", "Let me see.", "[/THINK]", "Four.", "</s>"));
    const { body } = await chat(g, { ...user("2+2?"), reasoning_effort: "high" });
    expect(body.choices[0].message).toMatchObject({
      content: "Four.",
      reasoning: "Let me see.",
      reasoning_content: "Let me see.",
    });
    expect(body.usage.completion_tokens_details.reasoning_tokens).toBe(ids("Let me see.").length);
  });

  it("hides reasoning with include_reasoning: false", async () => {
    const g = testGateway();
    g.fake.reply(ids("[THINK]", "secret", "[/THINK]", "ok", "</s>"));
    const { body } = await chat(g, { ...user("x"), include_reasoning: false });
    expect(body.choices[0].message).toMatchObject({ content: "ok", reasoning: null, reasoning_content: null });
  });

  it("returns tool calls with finish_reason tool_calls", async () => {
    const g = testGateway();
    g.fake.reply(ids("[TOOL_CALLS]", "get_weather", "[ARGS]", '{"city": "Paris"}', "</s>"));
    const { body } = await chat(g, { ...user("weather?"), tools: TOOLS });
    const choice = body.choices[0];
    expect(choice.finish_reason).toBe("tool_calls");
    expect(choice.message.content).toBeNull();
    expect(choice.message.tool_calls).toEqual([{
      id: expect.stringMatching(/^[A-Za-z0-9]{9}$/),
      type: "function",
      function: { name: "get_weather", arguments: '{"city": "Paris"}' },
    }]);
    expect(g.fake.info.tokenizer.decode(g.fake.lastCall.options.promptIds, "show")).toContain("[AVAILABLE_TOOLS]");
  });

  it("says tool_calls when the call's last tokens and the finish arrive in one event (speculative decoding)", async () => {
    const g = testGateway();
    g.fake.script = () => ({
      choices: [{ ids: ids("[TOOL_CALLS]", "get_weather", "[ARGS]", '{"city": "Paris"}', "</s>") }],
      chunk: 64,
    });
    const { body } = await chat(g, { ...user("weather?"), tools: TOOLS });
    expect(body.choices[0].finish_reason).toBe("tool_calls");
    expect(body.choices[0].message.tool_calls).toHaveLength(1);
  });

  it("reports malformed tool calls instead of passing them off as text", async () => {
    const g = testGateway();
    g.fake.reply(ids("[TOOL_CALLS]", "get_weather", "[ARGS]", '{"city": Paris}', "</s>"));
    const { body } = await chat(g, { ...user("weather?"), tools: TOOLS });
    const msg = body.choices[0].message;
    expect(body.choices[0].finish_reason).toBe("stop");
    expect(msg.tool_calls).toBeUndefined();
    expect(msg.tool_call_errors).toEqual([expect.objectContaining({ code: "tool-arguments-invalid" })]);
    expect(await (await g.app.request("/metrics")).text()).toContain("gust_tool_call_errors_total 1");
  });

  it("tool_choice none biases the call token away and keeps the tools in the prompt", async () => {
    const g = testGateway();
    await chat(g, { ...user("hi"), tools: TOOLS, tool_choice: "none" });
    const callId = g.fake.info.tokenizer.controlId("[TOOL_CALLS]");
    expect(g.fake.lastCall.options.sampling?.logitBias).toEqual({ [callId]: -100 });
  });

  it("finish_reason length when the runtime stops at max_tokens", async () => {
    const g = testGateway();
    g.fake.reply({ ids: ids("Hel"), finish: "length" });
    const { body } = await chat(g, { ...user("hi"), max_tokens: ids("Hel").length });
    expect(body.choices[0]).toMatchObject({ finish_reason: "length", message: { content: "Hel" } });
  });

  it("cuts the answer at a stop sequence and frees the runtime sequence", async () => {
    const g = testGateway();
    g.fake.reply(ids("Hello world. More text that should never be generated", "</s>"));
    const { body } = await chat(g, { ...user("hi"), stop: [". ", "zzz"] });
    expect(body.choices[0]).toMatchObject({ finish_reason: "stop", message: { content: "Hello world" } });
    expect(g.fake.lastCall.aborted).toBe(true);
    expect(await (await g.app.request("/metrics")).text()).toContain('gust_aborts_total{reason="stop_sequence"} 1');
  });

  it("a single stop string works the same", async () => {
    const g = testGateway();
    g.fake.reply(ids("abcXYZdef", "</s>"));
    expect((await chat(g, { ...user("hi"), stop: "XYZ" })).body.choices[0].message.content).toBe("abc");
  });

  it("stop_token_ids go to the runtime and the stopping token is not part of the answer", async () => {
    const g = testGateway();
    const stopId = ids("!")[0];
    g.fake.reply([...ids("Yes"), stopId]);
    const { body } = await chat(g, { ...user("hi"), stop_token_ids: [stopId] });
    expect(g.fake.lastCall.options.stopIds).toEqual([stopId]);
    expect(body.choices[0]).toMatchObject({ finish_reason: "stop", message: { content: "Yes" } });
  });

  it("n answers, each with its own finish", async () => {
    const g = testGateway();
    g.fake.reply(ids("one", "</s>"), { ids: ids("two"), finish: "length" });
    const { body } = await chat(g, { ...user("hi"), n: 2 });
    expect(g.fake.lastCall.options.n).toBe(2);
    expect(body.choices.map((c: any) => [c.index, c.message.content, c.finish_reason])).toEqual([[0, "one", "stop"], [
      1,
      "two",
      "length",
    ]]);
    expect(body.usage.completion_tokens).toBe(ids("one", "</s>").length + ids("two").length);
    expect(body.usage.prompt_tokens).toBe(g.fake.lastCall.options.promptIds.length); // counted once
  });

  it("log-probs per token with top alternatives", async () => {
    const g = testGateway();
    g.fake.reply(ids("Hi", "</s>"));
    const { body } = await chat(g, { ...user("hi"), logprobs: true, top_logprobs: 2 });
    expect(g.fake.lastCall.options.sampling?.logprobs).toBe(2);
    const content = body.choices[0].logprobs.content;
    expect(content).toHaveLength(ids("Hi", "</s>").length);
    expect(content[0]).toEqual({
      token: "H",
      logprob: -0.5,
      bytes: [72],
      top_logprobs: [expect.objectContaining({ token: "H", logprob: -0.5 }), expect.objectContaining({ logprob: -2 })],
    });
    expect(content.at(-1)).toMatchObject({ token: "</s>", bytes: [] });
  });

  it("accepts the model's aliases", async () => {
    const g = testGateway({ modelAliases: ["mistral-medium-latest"] });
    expect((await chat(g, { ...user("hi"), model: "mistral-medium-latest" })).status).toBe(200);
  });

  it("serves every --served-model-name (runtime's and gateway's), answering under the name asked for", async () => {
    const g = testGateway({
      fake: { id: "mistral-medium-3.5", aliases: ["mistralai/Mistral-Medium-3.5-128B"] },
      modelAliases: ["mistral-medium-3"],
    });
    const models = await (await g.app.request("/v1/models")).json();
    expect(models.data.map((m: any) => m.id)).toEqual([
      "mistral-medium-3.5",
      "mistralai/Mistral-Medium-3.5-128B",
      "mistral-medium-3",
    ]);
    for (const name of ["mistral-medium-3.5", "mistralai/Mistral-Medium-3.5-128B", "mistral-medium-3"]) {
      const r = await chat(g, { ...user("hi"), model: name });
      expect(r.status).toBe(200);
      expect(r.body.model).toBe(name);
    }
    const wrong = await chat(g, { ...user("hi"), model: "tiny-mistral3" });
    expect(wrong.status).toBe(404);
    expect(wrong.body.error.message).toMatch(/"mistral-medium-3.5", "mistralai\/Mistral-Medium-3.5-128B"/);
  });

  it("turns a runtime refusal into its status", async () => {
    const { RuntimeError } = await import("../../functions/sdk/binding.ts");
    const g = testGateway();
    g.fake.script = () => ({ choices: [], refuse: new RuntimeError("overloaded", "the engine queue is full") });
    const res = await g.post(CHAT, user("hi"));
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("1");
    expect((await res.json()).error).toEqual({
      message: "the engine queue is full",
      type: "rate_limit_error",
      param: null,
      code: "overloaded",
    });
  });

  it("a signal that fires after the answer is complete (Deno's legacy abort) does not reach the runtime", async () => {
    const g = testGateway();
    const ac = new AbortController();
    const res = await g.post(CHAT, user("hi"), { signal: ac.signal });
    await res.json();
    ac.abort();
    expect(g.fake.lastCall.options.signal!.aborted).toBe(false);
  });

  it("a client that disconnects aborts the sequence (non-streaming)", async () => {
    const g = testGateway();
    g.fake.script = () => ({ choices: [{ ids: ids("long answer", "</s>") }], manual: true });
    const ac = new AbortController();
    const res = g.post(CHAT, user("hi"), { signal: ac.signal });
    const { settle } = await import("../helpers/manual-clock.ts");
    await settle();
    g.fake.lastCall.release(2);
    await settle();
    ac.abort();
    await res.catch(() => undefined);
    await settle();
    expect(g.fake.lastCall.aborted).toBe(true);
    expect(g.fake.lastCall.abortedAfter).toBe(2);
    expect(await (await g.app.request("/metrics")).text()).toContain('gust_aborts_total{reason="client"} 1');
  });
});
