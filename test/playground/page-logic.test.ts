// The page's logic that needs no browser: reading SSE from a fetch body, reading the status gauges out of
// Prometheus text, folding stream chunks into an answer with its usage and timings, and the request body built
// from the settings panel.
import { describe, expect, it } from "vitest";
import { answerStats, applyChunk, type Chunk, newAnswer, statsLine } from "../../edge/playground/src/answer.ts";
import { parseMetrics, runtimeFigures } from "../../edge/playground/src/prometheus.ts";
import { chatBody, type Settings, SettingsError } from "../../edge/playground/src/request.ts";
import { sseData } from "../../edge/playground/src/sse.ts";

function bodyOf(pieces: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(c) {
      for (const p of pieces) c.enqueue(enc.encode(p));
      c.close();
    },
  });
}

async function collect(pieces: string[]): Promise<string[]> {
  const out: string[] = [];
  for await (const d of sseData(bodyOf(pieces))) out.push(d);
  return out;
}

describe("sseData", () => {
  it("joins events split across chunks, skips comments, ends at [DONE]", async () => {
    expect(await collect(['data: {"a"', ":1}\n\n: keep-alive\n\nda", "ta: x\r\n\r\ndata: [DONE]\n\ndata: late\n\n"]))
      .toEqual(['{"a":1}', "x"]);
  });
  it("joins multi-line data with newlines and drops an unfinished tail", async () => {
    expect(await collect(["data: one\ndata: two\n\ndata: cut"])).toEqual(["one\ntwo"]);
  });
});

describe("status figures from /metrics", () => {
  it("sums labelled samples and computes the speculation acceptance", () => {
    const m = parseMetrics(
      [
        "# HELP gust_kv_blocks_used x",
        "gust_kv_blocks_used 3",
        "gust_kv_blocks_total 128",
        "gust_runtime_up 1",
        'gust_runtime_requests_running{x="a"} 1',
        'gust_runtime_requests_running{x="b"} 2',
        "gust_spec_drafted_tokens_total 40",
        "gust_spec_accepted_tokens_total 30",
      ].join("\n"),
    );
    expect(runtimeFigures(m)).toEqual({
      runtimeUp: true,
      kvUsed: 3,
      kvTotal: 128,
      running: 3,
      waiting: null,
      specAcceptance: 0.75,
    });
    expect(runtimeFigures(parseMetrics("gust_spec_drafted_tokens_total 0\n")).specAcceptance).toBeNull();
  });
});

describe("an answer from its chunks", () => {
  it("assembles text, reasoning and tool-call fragments, then usage and timings", () => {
    const a = newAnswer(1000);
    type Delta = NonNullable<Chunk["choices"]>[number]["delta"];
    const delta = (d: Delta, finish: string | null = null): Chunk => ({
      choices: [{ index: 0, delta: d, finish_reason: finish }],
    });
    applyChunk(a, delta({ role: "assistant", content: "" }), 1005);
    expect(a.firstTokenAt).toBeNull(); // the opening chunk carries no token
    applyChunk(a, delta({ reasoning: "think", reasoning_content: "think" }), 1100);
    applyChunk(a, delta({ content: "Hi" }), 1150);
    applyChunk(
      a,
      delta({ tool_calls: [{ index: 0, id: "call_1", function: { name: "get_time", arguments: "" } }] }),
      1160,
    );
    applyChunk(a, delta({ tool_calls: [{ index: 0, function: { arguments: '{"city"' } }] }), 1170);
    applyChunk(a, delta({ tool_calls: [{ index: 0, function: { arguments: ': "Tokyo"}' } }] }), 1180);
    applyChunk(a, delta({}, "tool_calls"), 1190);
    applyChunk(a, {
      choices: [],
      usage: {
        prompt_tokens: 20,
        completion_tokens: 11,
        prompt_tokens_details: { cached_tokens: 16 },
        completion_tokens_details: { reasoning_tokens: 4 },
      },
    }, 1195);
    a.endedAt = 1600;
    expect(a.reasoning).toBe("think");
    expect(a.content).toBe("Hi");
    expect(a.toolCalls).toEqual([{ id: "call_1", name: "get_time", arguments: '{"city": "Tokyo"}' }]);
    expect(a.finishReason).toBe("tool_calls");
    const s = answerStats(a)!;
    // 10 tokens after the first over 1600 - 1100 = 500 ms
    expect(s).toEqual({
      promptTokens: 20,
      cachedTokens: 16,
      completionTokens: 11,
      reasoningTokens: 4,
      ttftMs: 100,
      tokensPerSecond: 20,
    });
    expect(statsLine(s)).toBe(
      "prompt 20 (cached 16) · completion 11 (reasoning 4) · 20.0 tok/s · first token 100 ms",
    );
  });
});

describe("the chat request from the settings", () => {
  const blank: Settings = {
    model: "m",
    effort: "",
    budget: "",
    temperature: "",
    maxTokens: "",
    tools: "",
    format: "text",
    schema: "",
  };
  const msgs = [{ role: "user" as const, content: "hi" }];

  it("leaves unset settings to the gateway and always streams with usage", () => {
    expect(chatBody(blank, msgs)).toEqual({
      model: "m",
      messages: msgs,
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it("sends effort, budget, temperature, max tokens, tools and a schema", () => {
    const body = chatBody({
      ...blank,
      effort: "high",
      budget: "64",
      temperature: "0",
      maxTokens: "100",
      tools: '[{"type":"function","function":{"name":"f"}}]',
      format: "json_schema",
      schema: '{"type":"object"}',
    }, msgs);
    expect(body).toMatchObject({
      reasoning_effort: "high",
      reasoning: { budget_tokens: 64 },
      temperature: 0,
      max_tokens: 100,
      tools: [{ type: "function", function: { name: "f" } }],
      response_format: { type: "json_schema", json_schema: { name: "answer", schema: { type: "object" } } },
    });
    expect(chatBody({ ...blank, format: "json_object" }, msgs).response_format).toEqual({ type: "json_object" });
  });

  it("names the field when a setting is bad", () => {
    const bad = (s: Partial<Settings>) => () => chatBody({ ...blank, ...s }, msgs);
    expect(bad({ tools: "[{" })).toThrow(/^Tool definitions: not valid JSON/);
    expect(bad({ tools: "{}" })).toThrow(/^Tool definitions: a JSON array/);
    expect(bad({ maxTokens: "1.5" })).toThrow(/^Max tokens: a whole number/);
    expect(bad({ temperature: "-1" })).toThrow(/^Temperature: a number of 0 or more/);
    expect(bad({ format: "json_schema" })).toThrow(/^JSON schema: write a schema/);
    expect(bad({ format: "json_schema", schema: "nope" })).toThrow(SettingsError);
  });
});
