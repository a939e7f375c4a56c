import { describe, expect, it } from "vitest";
import { ClientGone } from "../../functions/chat/run.ts";
import { ids, RuntimeError } from "../helpers/fake-binding.ts";
import { testGateway, user } from "../helpers/gateway.ts";
import { settle } from "../helpers/manual-clock.ts";
import { parseSse, sseJson, StreamReader } from "../helpers/sse.ts";

const CHAT = "/v1/chat/completions";
const TOOLS = [{ type: "function", function: { name: "get_weather", parameters: { type: "object" } } }];

async function stream(g: ReturnType<typeof testGateway>, body: Record<string, unknown>) {
  const res = await g.post(CHAT, { ...body, stream: true });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
  expect(res.headers.get("cache-control")).toBe("no-cache");
  const frames = parseSse(await res.text());
  return { frames, chunks: sseJson(frames) };
}

const contentOf = (chunks: any[], index = 0) =>
  chunks.flatMap((c) => c.choices.filter((ch: any) => ch.index === index).map((ch: any) => ch.delta.content ?? ""))
    .join("");

describe("POST /v1/chat/completions with stream: true", () => {
  it("frames every event as `data: {json}` and ends with data: [DONE]", async () => {
    const g = testGateway();
    const { frames, chunks } = await stream(g, user("Hi"));
    expect(frames.at(-1)).toEqual({ kind: "data", text: "[DONE]" });
    expect(frames.filter((f) => f.text === "[DONE]")).toHaveLength(1);
    expect(chunks[0].choices[0]).toEqual({
      index: 0,
      delta: { role: "assistant", content: "" },
      logprobs: null,
      finish_reason: null,
    });
    for (const c of chunks) {
      expect(c).toMatchObject({
        object: "chat.completion.chunk",
        id: chunks[0].id,
        model: "tiny-mistral3",
        created: chunks[0].created,
      });
      expect(c).not.toHaveProperty("usage"); // only with stream_options.include_usage
    }
    expect(contentOf(chunks)).toBe("Hello there");
    expect(chunks.at(-1).choices[0]).toEqual({ index: 0, delta: {}, logprobs: null, finish_reason: "stop" });
  });

  it("streams the same text, reasoning and finish as the one-shot answer", async () => {
    const g = testGateway();
    g.fake.reply(ids("[THINK]", "why not", "[/THINK]", "Because.", "</s>"));
    const one = await (await g.post(CHAT, { ...user("x"), reasoning_effort: "high" })).json();
    const { chunks } = await stream(g, { ...user("x"), reasoning_effort: "high" });
    const reasoning = chunks.map((c) => c.choices[0]?.delta.reasoning ?? "").join("");
    const reasoningContent = chunks.map((c) => c.choices[0]?.delta.reasoning_content ?? "").join("");
    expect(reasoning).toBe(one.choices[0].message.reasoning);
    expect(reasoningContent).toBe(reasoning);
    expect(contentOf(chunks)).toBe(one.choices[0].message.content);
  });

  it("include_usage: usage null on every chunk, then a last chunk with empty choices and the usage", async () => {
    const g = testGateway();
    const { chunks } = await stream(g, { ...user("Hi"), stream_options: { include_usage: true } });
    const last = chunks.at(-1);
    expect(last.choices).toEqual([]);
    expect(last.usage).toMatchObject({
      completion_tokens: ids("Hello there", "</s>").length,
      completion_tokens_details: { reasoning_tokens: 0 },
    });
    for (const c of chunks.slice(0, -1)) expect(c.usage).toBeNull();
  });

  it("streams tool calls as a start (id, name) and argument fragments", async () => {
    const g = testGateway();
    const args = '{"city": "Paris"}';
    g.fake.reply(ids("Checking.", "[TOOL_CALLS]", "get_weather", "[ARGS]", args, "</s>"));
    const { chunks } = await stream(g, { ...user("weather?"), tools: TOOLS });
    const deltas = chunks.flatMap((c) => c.choices.flatMap((ch: any) => ch.delta.tool_calls ?? []));
    expect(deltas[0]).toEqual({
      index: 0,
      id: expect.stringMatching(/^[A-Za-z0-9]{9}$/),
      type: "function",
      function: { name: "get_weather", arguments: "" },
    });
    expect(deltas.slice(1).every((d: any) => d.index === 0 && !("id" in d))).toBe(true);
    expect(deltas.map((d: any) => d.function.arguments).join("")).toBe(args);
    expect(contentOf(chunks)).toBe("Checking.");
    expect(chunks.at(-1).choices[0].finish_reason).toBe("tool_calls");
  });

  it("never shows a stop sequence or a piece of it", async () => {
    const g = testGateway();
    g.fake.reply(ids("one two three", "</s>"));
    const { chunks } = await stream(g, { ...user("x"), stop: ["two"] });
    const deltas = chunks.map((c) => c.choices[0]?.delta.content ?? "");
    expect(deltas.join("")).toBe("one ");
    expect(deltas.some((d) => d.includes("t"))).toBe(false);
    expect(chunks.at(-1).choices[0].finish_reason).toBe("stop");
    expect(g.fake.lastCall.aborted).toBe(true);
  });

  it("n answers interleave, each with its own finish", async () => {
    const g = testGateway();
    g.fake.reply(ids("aa", "</s>"), ids("bbbb", "</s>"));
    const { chunks } = await stream(g, { ...user("x"), n: 2 });
    expect(contentOf(chunks, 0)).toBe("aa");
    expect(contentOf(chunks, 1)).toBe("bbbb");
    const finishes = chunks.flatMap((c) => c.choices.filter((ch: any) => ch.finish_reason).map((ch: any) => ch.index));
    expect(finishes.sort()).toEqual([0, 1]);
  });

  it("log-probs ride on the chunks of their tokens", async () => {
    const g = testGateway();
    const { chunks } = await stream(g, { ...user("x"), logprobs: true });
    const lp = chunks.flatMap((c) => c.choices[0]?.logprobs?.content ?? []);
    expect(lp.map((t: any) => t.token).join("")).toBe("Hello there</s>");
  });

  it("sends keep-alive comments while the prompt is prefilled, then the tokens", async () => {
    const g = testGateway({ keepAliveMs: 1000 });
    g.fake.script = () => ({ choices: [{ ids: ids("ok", "</s>") }], manual: true });
    const pending = g.post(CHAT, { ...user("x"), stream: true });
    await settle();
    await g.clock.advance(1000); // no token within the keep-alive period: the stream opens
    const res = await pending;
    expect(res.status).toBe(200);
    const reader = new StreamReader(res.body!);
    await reader.until((t) => t.includes('"role":"assistant"'));
    await g.clock.advance(1000);
    await reader.until((t) => t.endsWith(": keep-alive\n\n"));
    await g.clock.advance(1000);
    await reader.until((t) => t.split(": keep-alive\n\n").length === 3);
    g.fake.lastCall.release(10);
    const frames = parseSse(await reader.rest());
    expect(frames.filter((f) => f.kind === "comment").map((f) => f.text)).toEqual(["keep-alive", "keep-alive"]);
    expect(contentOf(sseJson(frames))).toBe("ok");
    expect(frames.at(-1)!.text).toBe("[DONE]");
  });

  it("sends keep-alive comments during hidden reasoning", async () => {
    const g = testGateway({ keepAliveMs: 1000 });
    g.fake.script = () => ({ choices: [{ ids: ids("[THINK]", "abcdef", "[/THINK]", "ok", "</s>") }], manual: true });
    const pending = g.post(CHAT, { ...user("x"), stream: true, reasoning_effort: "high", include_reasoning: false });
    await settle();
    const call = g.fake.lastCall;
    call.release(3); // [THINK] and reasoning: nothing visible
    const reader = new StreamReader((await pending).body!);
    await reader.until((t) => t.includes('"role":"assistant"'));
    await g.clock.advance(1000);
    await reader.until((t) => t.includes(": keep-alive\n\n"));
    call.release(100);
    const frames = parseSse(await reader.rest());
    const chunks = sseJson(frames);
    expect(chunks.some((c) => c.choices[0]?.delta.reasoning)).toBe(false);
    expect(contentOf(chunks)).toBe("ok");
  });

  it("a client that drops the connection aborts the sequence (request signal)", async () => {
    const g = testGateway();
    g.fake.script = () => ({ choices: [{ ids: ids("a long answer", "</s>") }], manual: true });
    const ac = new AbortController();
    const pending = g.post(CHAT, { ...user("x"), stream: true }, { signal: ac.signal });
    await settle();
    const call = g.fake.lastCall;
    call.release(2);
    const reader = new StreamReader((await pending).body!);
    await reader.until((t) => t.split("data: ").length >= 4);
    ac.abort();
    await reader.rest().catch(() => undefined);
    await settle();
    expect(call.aborted).toBe(true);
    expect(call.abortedAfter).toBe(2);
    expect((await g.fake.stats()).kvBlocksUsed).toBe(0);
    expect(await (await g.app.request("/metrics")).text()).toContain('gust_aborts_total{reason="client"} 1');
  });

  it("a client that stops reading and cancels the body aborts the sequence", async () => {
    const g = testGateway();
    g.fake.script = () => ({ choices: [{ ids: ids("a long answer", "</s>") }], manual: true });
    const pending = g.post(CHAT, { ...user("x"), stream: true });
    await settle();
    const call = g.fake.lastCall;
    call.release(1);
    const reader = new StreamReader((await pending).body!);
    await reader.until((t) => t.split("data: ").length >= 3);
    await reader.cancel();
    await settle();
    expect(call.aborted).toBe(true);
    expect(call.abortReason).toBeInstanceOf(ClientGone);
    await settle();
    expect(g.app.limiter.running).toBe(0);
  });

  it("a runtime failure mid-stream ends the stream with an error event and no [DONE]", async () => {
    const g = testGateway();
    g.fake.script = () => ({
      choices: [{ ids: ids("abcdef", "</s>") }],
      fail: { after: 2, error: new RuntimeError("unavailable", "the runtime connection closed") },
    });
    const { frames, chunks } = await stream(g, user("x"));
    expect(frames.some((f) => f.text === "[DONE]")).toBe(false);
    expect(chunks.at(-1)).toEqual({
      error: {
        message: "the runtime connection closed",
        type: "service_unavailable_error",
        param: null,
        code: "unavailable",
      },
    });
  });

  it("an unexpected failure mid-stream leaks nothing", async () => {
    const g = testGateway();
    g.fake.script = () => ({
      choices: [{ ids: ids("abcdef", "</s>") }],
      fail: { after: 1, error: new Error("ECONNRESET /var/run/gust.sock") },
    });
    const { chunks } = await stream(g, user("x"));
    const err = chunks.at(-1).error;
    expect(err.type).toBe("server_error");
    expect(err.message).not.toContain("gust.sock");
    expect(g.errors).toHaveLength(1); // but it is logged
  });

  it("a refusal before the first token keeps its HTTP status", async () => {
    const g = testGateway();
    g.fake.script = () => ({ choices: [], refuse: new RuntimeError("draining", "the runtime is shutting down") });
    const res = await g.post(CHAT, { ...user("x"), stream: true });
    expect(res.status).toBe(503);
    expect((await res.json()).error.code).toBe("draining");
  });
});
