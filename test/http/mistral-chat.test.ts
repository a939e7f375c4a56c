import { describe, expect, it } from "vitest";
import { MISTRAL_SAFE_PROMPT } from "../../functions/chat/params.ts";
import { ids } from "../helpers/fake-binding.ts";
import { testGateway, user } from "../helpers/gateway.ts";
import { parseSse, sseJson } from "../helpers/sse.ts";

const CHAT = "/mistral/v1/chat/completions";
const TOOLS = [{
  type: "function",
  function: { name: "get_weather", description: "", parameters: { type: "object" } },
}];

describe("POST /mistral/v1/chat/completions", () => {
  it("answers in Mistral's shape, content as a string without reasoning", async () => {
    const g = testGateway();
    const res = await g.post(CHAT, { model: "tiny-mistral3", ...user("Hi") });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({
      id: expect.stringMatching(/^[0-9a-f]{32}$/),
      object: "chat.completion",
      model: "tiny-mistral3",
      choices: [{
        index: 0,
        message: { role: "assistant", content: "Hello there", tool_calls: null, prefix: false },
        finish_reason: "stop",
      }],
      usage: {
        prompt_tokens: g.fake.lastCall.options.promptIds.length,
        completion_tokens: ids("Hello there", "</s>").length,
      },
    });
  });

  it("returns reasoning as a thinking chunk (a list of text chunks) before a text chunk", async () => {
    const g = testGateway();
    g.fake.reply(ids("[THINK]", "hmm", "[/THINK]", "Yes.", "</s>"));
    const body = await (await g.post(CHAT, { ...user("?"), reasoning_effort: "high" })).json();
    expect(body.choices[0].message.content).toEqual([
      { type: "thinking", thinking: [{ type: "text", text: "hmm" }] },
      { type: "text", text: "Yes." },
    ]);
  });

  it("maps random_seed to the seed", async () => {
    const g = testGateway();
    await g.post(CHAT, { ...user("x"), random_seed: 1234, temperature: 0.7 });
    expect(g.fake.lastCall.options.sampling).toMatchObject({ seed: 1234, temperature: 0.7 });
  });

  it("response_format json_object asks the runtime for a JSON-constrained answer", async () => {
    const g = testGateway();
    const res = await g.post(CHAT, { ...user("Hi"), response_format: { type: "json_object" } });
    expect(res.status).toBe(200);
    expect(g.fake.lastCall.options.responseFormat).toEqual({ type: "json_object" });
  });

  it("safe_prompt puts Mistral's guardrail system prompt first", async () => {
    const g = testGateway();
    await g.post(CHAT, {
      messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "x" }],
      safe_prompt: true,
    });
    const prompt = g.fake.info.tokenizer.decode(g.fake.lastCall.options.promptIds, "show");
    expect(
      prompt.startsWith(
        `<s>[SYSTEM_PROMPT]${MISTRAL_SAFE_PROMPT}[/SYSTEM_PROMPT][SYSTEM_PROMPT]Be brief.[/SYSTEM_PROMPT]`,
      ),
    ).toBe(true);
  });

  it("errors under safe_prompt still name the client's message index", async () => {
    const g = testGateway();
    const res = await g.post(CHAT, {
      messages: [{ role: "user", content: "x" }, { role: "robot", content: "y" }],
      safe_prompt: true,
    });
    expect(res.status).toBe(400);
    expect((await res.json()).error.param).toBe("messages[1].role");
  });

  it("tool calls carry 9-character ids and finish with tool_calls", async () => {
    const g = testGateway();
    g.fake.reply(ids("[TOOL_CALLS]", "get_weather", "[ARGS]", '{"city": "Oslo"}', "</s>"));
    const body = await (await g.post(CHAT, { ...user("weather"), tools: TOOLS })).json();
    expect(body.choices[0].finish_reason).toBe("tool_calls");
    expect(body.choices[0].message.tool_calls).toEqual([{
      id: expect.stringMatching(/^[A-Za-z0-9]{9}$/),
      type: "function",
      function: { name: "get_weather", arguments: '{"city": "Oslo"}' },
      index: 0,
    }]);
  });

  it("checks incoming tool-call ids as Mistral does (9 letters/digits)", async () => {
    const g = testGateway();
    const messages = [
      { role: "user", content: "weather" },
      {
        role: "assistant",
        content: null,
        tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: "{}" } }],
      },
      { role: "tool", tool_call_id: "call_1", content: "sunny" },
    ];
    const res = await g.post(CHAT, { messages, tools: TOOLS });
    expect(res.status).toBe(400);
    expect((await res.json()).error.param).toBe("messages[1].tool_calls[0].id");
    const fixed = messages.map((
      m: any,
    ) => (m.tool_calls
      ? { ...m, tool_calls: [{ ...m.tool_calls[0], id: "abcDEF123" }] }
      : m.tool_call_id
      ? { ...m, tool_call_id: "abcDEF123" }
      : m)
    );
    expect((await g.post(CHAT, { messages: fixed, tools: TOOLS })).status).toBe(200);
  });

  it("tool_choice any/required and a named function ask the runtime for calls; auto for optional ones", async () => {
    const g = testGateway();
    const offered = [{ name: "get_weather", parameters: { type: "object" } }];
    for (const tool_choice of ["any", "required"]) {
      expect((await g.post(CHAT, { ...user("x"), tools: TOOLS, tool_choice })).status).toBe(200);
      expect(g.fake.lastCall.options.toolCalls).toEqual({ tools: offered, parallel: true });
    }
    expect((await g.post(CHAT, { ...user("x"), tools: TOOLS, tool_choice: "any", parallel_tool_calls: false })).status)
      .toBe(200);
    expect(g.fake.lastCall.options.toolCalls).toEqual({ tools: offered, parallel: false });
    expect(
      (await g.post(CHAT, {
        ...user("x"),
        tools: TOOLS,
        tool_choice: { type: "function", function: { name: "get_weather" } },
      })).status,
    ).toBe(200);
    expect(g.fake.lastCall.options.toolCalls).toEqual({ tools: offered, parallel: false });
    // auto: a call may be made; its name is held to the offered ones, its arguments to the schema, strict or not
    expect((await g.post(CHAT, { ...user("x"), tools: TOOLS, tool_choice: "auto" })).status).toBe(200);
    expect(g.fake.lastCall.options.toolCalls).toEqual({ tools: offered, parallel: true, optional: true });
    const strict = [{ ...TOOLS[0], function: { ...TOOLS[0].function, strict: true } }];
    expect((await g.post(CHAT, { ...user("x"), tools: strict, parallel_tool_calls: false })).status).toBe(200);
    expect(g.fake.lastCall.options.toolCalls).toEqual({ tools: offered, parallel: false, optional: true });
    expect((await g.post(CHAT, { ...user("x"), tools: TOOLS, tool_choice: "none" })).status).toBe(200);
    expect(g.fake.lastCall.options.toolCalls).toBeUndefined();
    // a response format under auto: the format alone holds the answer
    expect((await g.post(CHAT, { ...user("x"), tools: TOOLS, response_format: { type: "json_object" } })).status)
      .toBe(200);
    expect(g.fake.lastCall.options.toolCalls).toBeUndefined();
  });

  it("an assistant prefix is continued", async () => {
    const g = testGateway();
    await g.post(CHAT, {
      messages: [{ role: "user", content: "x" }, { role: "assistant", content: "Sure,", prefix: true }],
    });
    const prompt = g.fake.info.tokenizer.decode(g.fake.lastCall.options.promptIds, "show");
    expect(prompt.endsWith("[/INST]Sure,")).toBe(true);
  });

  it("streams thinking chunks, text as strings, whole tool calls, usage on the last chunk, then [DONE]", async () => {
    const g = testGateway();
    g.fake.reply(
      ids("[THINK]", "plan", "[/THINK]", "Ok.", "[TOOL_CALLS]", "get_weather", "[ARGS]", '{"a": 1}', "</s>"),
    );
    const res = await g.post(CHAT, { ...user("x"), stream: true, tools: TOOLS, reasoning_effort: "high" });
    const frames = parseSse(await res.text());
    expect(frames.at(-1)!.text).toBe("[DONE]");
    const chunks = sseJson(frames);
    expect(chunks[0].choices[0].delta).toEqual({ role: "assistant", content: "" });
    const deltas = chunks.map((c) => c.choices[0].delta);
    const thinking = deltas.filter((d) => Array.isArray(d.content)).map((d) => d.content[0].thinking[0].text).join("");
    expect(thinking).toBe("plan");
    expect(deltas.filter((d) => typeof d.content === "string").map((d) => d.content).join("")).toBe("Ok.");
    const calls = deltas.flatMap((d) => d.tool_calls ?? []);
    expect(calls).toEqual([{
      id: expect.stringMatching(/^[A-Za-z0-9]{9}$/),
      type: "function",
      function: { name: "get_weather", arguments: '{"a": 1}' },
      index: 0,
    }]);
    const last = chunks.at(-1);
    expect(last.choices[0].finish_reason).toBe("tool_calls");
    expect(last.usage.completion_tokens).toBe(g.fake.lastCall.emitted);
    expect(chunks.slice(0, -1).every((c) => !("usage" in c))).toBe(true);
  });

  it("malformed tool calls finish with error", async () => {
    const g = testGateway();
    g.fake.reply(ids("[TOOL_CALLS]", "get_weather", "[ARGS]", "{oops", "</s>"));
    const body = await (await g.post(CHAT, { ...user("x"), tools: TOOLS })).json();
    expect(body.choices[0].finish_reason).toBe("error");
  });

  it("accepts prediction (a speed hint only) and refuses guardrails", async () => {
    const g = testGateway();
    expect((await g.post(CHAT, { ...user("x"), prediction: { type: "content", content: "Hello" } })).status).toBe(200);
    const res = await g.post(CHAT, { ...user("x"), guardrails: [{ block_on_error: true }] });
    expect(res.status).toBe(400);
    expect((await res.json()).error.param).toBe("guardrails");
  });
});
