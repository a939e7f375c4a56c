// The official clients against the app in-process (their fetch is the app's fetch): their own parsers and
// schemas check our response shapes, streaming included. The e2e suite repeats this over real sockets.
import { Mistral } from "@mistralai/mistralai";
import { HTTPClient } from "@mistralai/mistralai/lib/http.js";
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { ids } from "../helpers/fake-binding.ts";
import { testGateway } from "../helpers/gateway.ts";

const KEY = "sk-sdk";
const TOOLS = [{
  type: "function" as const,
  function: {
    name: "get_weather",
    description: "Weather for a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
}];

function clients() {
  const g = testGateway({ apiKeys: [KEY] });
  const fetcher = (input: RequestInfo | URL, init?: RequestInit) =>
    Promise.resolve(g.app.fetch(new Request(input, init)));
  const openai = new OpenAI({
    apiKey: KEY,
    baseURL: "http://gateway.test/v1",
    fetch: fetcher as typeof fetch,
    maxRetries: 0,
  });
  const mistral = new Mistral({
    apiKey: KEY,
    serverURL: "http://gateway.test/mistral",
    httpClient: new HTTPClient({ fetcher: fetcher as any }),
  });
  return { g, openai, mistral };
}

describe("openai npm client", () => {
  it("non-streaming completion", async () => {
    const { openai } = clients();
    const r = await openai.chat.completions.create({
      model: "tiny-mistral3",
      messages: [{ role: "user", content: "Hi" }],
    });
    expect(r.choices[0].message.content).toBe("Hello there");
    expect(r.choices[0].finish_reason).toBe("stop");
    expect(r.usage?.total_tokens).toBeGreaterThan(0);
  });

  it("streaming with usage", async () => {
    const { g, openai } = clients();
    g.fake.reply(ids("[THINK]", "hmm", "[/THINK]", "Streamed.", "</s>"));
    const stream = await openai.chat.completions.create({
      model: "tiny-mistral3",
      messages: [{ role: "user", content: "Hi" }],
      stream: true,
      stream_options: { include_usage: true },
      reasoning_effort: "high",
    });
    let text = "";
    let reasoning = "";
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      reasoning += (chunk.choices[0]?.delta as { reasoning?: string } | undefined)?.reasoning ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe("Streamed.");
    expect(reasoning).toBe("hmm");
    expect(usage?.completion_tokens_details?.reasoning_tokens).toBe(ids("hmm").length);
  });

  it("tools, one-shot and streamed", async () => {
    const { g, openai } = clients();
    g.fake.reply(ids("[TOOL_CALLS]", "get_weather", "[ARGS]", '{"city": "Lyon"}', "</s>"));
    const r = await openai.chat.completions.create({
      model: "tiny-mistral3",
      messages: [{ role: "user", content: "Weather in Lyon?" }],
      tools: TOOLS,
    });
    const call = r.choices[0].message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(r.choices[0].finish_reason).toBe("tool_calls");
    expect(call.function).toEqual({ name: "get_weather", arguments: '{"city": "Lyon"}' });

    // the call goes back with its id and a result; the gateway accepts the client's own round trip
    const followUp = await openai.chat.completions.create({
      model: "tiny-mistral3",
      messages: [{ role: "user", content: "Weather in Lyon?" }, r.choices[0].message, {
        role: "tool",
        tool_call_id: call.id,
        content: "sunny",
      }],
      tools: TOOLS,
    });
    expect(followUp.choices[0].message.tool_calls?.[0]).toBeDefined();

    const stream = openai.chat.completions.stream({
      model: "tiny-mistral3",
      messages: [{ role: "user", content: "Weather in Lyon?" }],
      tools: TOOLS,
    });
    const final = await stream.finalChatCompletion();
    const streamed = final.choices[0].message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(streamed.function).toEqual({ name: "get_weather", arguments: '{"city": "Lyon"}' });
  });

  it("errors arrive as typed API errors with the field", async () => {
    const { openai } = clients();
    const err = await openai.chat.completions.create({
      model: "tiny-mistral3",
      messages: [{ role: "robot" as "user", content: "x" }],
    }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.param).toBe("messages[0].role");
    const auth = await new OpenAI({
      apiKey: "nope",
      baseURL: "http://gateway.test/v1",
      fetch: ((i: any, n: any) => clients().g.app.fetch(new Request(i, n))) as typeof fetch,
      maxRetries: 0,
    }).models.list().catch((e) => e);
    expect(auth).toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it("models.list", async () => {
    const { openai } = clients();
    const page = await openai.models.list();
    expect(page.data.map((m) => m.id)).toEqual(["tiny-mistral3"]);
  });
});

describe("@mistralai/mistralai client (serverURL …/mistral)", () => {
  it("chat.complete with thinking chunks and a tool call", async () => {
    const { g, mistral } = clients();
    g.fake.reply(
      ids(
        "[THINK]",
        "plan",
        "[/THINK]",
        "Calling.",
        "[TOOL_CALLS]",
        "get_weather",
        "[ARGS]",
        '{"city": "Nice"}',
        "</s>",
      ),
    );
    const r = await mistral.chat.complete({
      model: "tiny-mistral3",
      messages: [{ role: "user", content: "Weather?" }],
      tools: TOOLS,
      randomSeed: 7,
      promptMode: "reasoning",
    });
    const choice = r.choices[0];
    expect(choice.finishReason).toBe("tool_calls");
    expect(choice.message?.content).toEqual([
      { type: "thinking", thinking: [{ type: "text", text: "plan" }] },
      { type: "text", text: "Calling." },
    ]);
    const call = choice.message!.toolCalls![0];
    expect(call.id).toMatch(/^[A-Za-z0-9]{9}$/);
    expect(call.function).toEqual({ name: "get_weather", arguments: '{"city": "Nice"}' });
    expect(g.fake.lastCall.options.sampling?.seed).toBe(7);
    expect(r.usage.completionTokens).toBe(g.fake.lastCall.emitted);
  });

  it("chat.stream", async () => {
    const { g, mistral } = clients();
    g.fake.reply(ids("[THINK]", "ok", "[/THINK]", "Done.", "</s>"));
    const stream = await mistral.chat.stream({
      model: "tiny-mistral3",
      messages: [{ role: "user", content: "Hi" }],
      reasoningEffort: "high",
    });
    let text = "";
    let thinking = "";
    let finish: string | null = null;
    let usage: unknown;
    for await (const ev of stream) {
      const delta = ev.data.choices[0].delta;
      if (typeof delta.content === "string") text += delta.content;
      else {for (const part of delta.content ?? []) {
          if (part.type === "thinking") {
            thinking += part.thinking.map((t: any) => t.text).join("");
          }
        }}
      finish = ev.data.choices[0].finishReason ?? finish;
      usage = ev.data.usage ?? usage;
    }
    expect(text).toBe("Done.");
    expect(thinking).toBe("ok");
    expect(finish).toBe("stop");
    expect(usage).toMatchObject({ completionTokens: ids("[THINK]", "ok", "[/THINK]", "Done.", "</s>").length });
  });

  it("safe_prompt and models.list", async () => {
    const { g, mistral } = clients();
    await mistral.chat.complete({
      model: "tiny-mistral3",
      messages: [{ role: "user", content: "Hi" }],
      safePrompt: true,
    });
    expect(g.fake.info.tokenizer.decode(g.fake.lastCall.options.promptIds)).toContain("Always assist with care");
    const list = await mistral.models.list();
    expect(list.data?.[0]).toMatchObject({ id: "tiny-mistral3", type: "base", maxContextLength: 4096 });
  });

  it("a named tool_choice that is not among the tools is refused with a 400 the client surfaces", async () => {
    const { mistral } = clients();
    const err = await mistral.chat.complete({
      model: "tiny-mistral3",
      messages: [{ role: "user", content: "x" }],
      tools: TOOLS,
      toolChoice: { type: "function", function: { name: "nope" } },
    }).catch((e) => e);
    expect(err).toBeInstanceOf(Error);
    expect(String(err.body ?? err.message)).toContain("is not among the tools");
  });
});
