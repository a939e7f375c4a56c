// A tool call the parser cannot read is handled one way in every dialect and both stream modes (docs/agents.md):
// it is never delivered as a call, not even in part; what the model wrote goes out as answer text; chat completions
// also list it in tool_call_errors. A readable call still streams as a call.
import { describe, expect, it } from "vitest";
import { ids } from "../helpers/fake-binding.ts";
import { testGateway } from "../helpers/gateway.ts";

/** A call cut by the token limit inside its arguments. */
const cut = () => ({
  choices: [{ ids: ids("[TOOL_CALLS]", "get_weather", "[ARGS]", '{"city": "Par'), finish: "length" as const }],
});
const WRITTEN = 'get_weather{"city": "Par';
const user = { role: "user", content: "Weather in Paris?" };
const chatTool = { type: "function", function: { name: "get_weather", parameters: { type: "object" } } };

async function sse(res: Response) {
  return (await res.text()).split("\n\n").filter((b) => b.includes("data: {")).map((b) =>
    JSON.parse(/^data: (.+)$/m.exec(b)![1])
  );
}

describe("unreadable tool calls", () => {
  it("chat completions: answer text plus tool_call_errors, the same streamed and not", async () => {
    const g = testGateway({ fake: { script: cut } });
    const once = await (await g.post("/v1/chat/completions", { messages: [user], tools: [chatTool] })).json();
    const msg = once.choices[0].message;
    expect(msg.content).toBe(WRITTEN);
    expect(msg.tool_calls).toBeUndefined();
    expect(msg.tool_call_errors).toEqual([expect.objectContaining({ code: "tool-call-truncated" })]);
    expect(once.choices[0].finish_reason).toBe("length");
    const chunks = await sse(
      await g.post("/v1/chat/completions", { messages: [user], tools: [chatTool], stream: true }),
    );
    const deltas = chunks.flatMap((c) => c.choices.map((ch: any) => ch.delta));
    expect(deltas.some((d) => d.tool_calls)).toBe(false); // no part of the call went out as a call
    expect(deltas.map((d) => d.content ?? "").join("")).toBe(WRITTEN);
    expect(deltas.some((d) => d.tool_call_errors)).toBe(true);
  });

  it("Responses: a message item with the text, no function_call, status incomplete", async () => {
    const g = testGateway({ fake: { script: cut } });
    const tools = [{ type: "function", name: "get_weather", parameters: { type: "object" } }];
    const once = await (await g.post("/v1/responses", { input: "Weather in Paris?", tools, store: false })).json();
    expect(once.status).toBe("incomplete");
    expect(once.output).toEqual([
      expect.objectContaining({ type: "message", content: [expect.objectContaining({ text: WRITTEN })] }),
    ]);
    const events = await sse(
      await g.post("/v1/responses", { input: "Weather in Paris?", tools, stream: true, store: false }),
    );
    expect(events.some((e) => e.type.startsWith("response.function_call"))).toBe(false);
    const final = events.at(-1).response;
    expect([final.status, final.output.map((o: any) => [o.type, o.content[0].text])]).toEqual(["incomplete", [[
      "message",
      WRITTEN,
    ]]]);
  });

  it("Messages: a text block, no tool_use, stop_reason max_tokens", async () => {
    const g = testGateway({ fake: { script: cut } });
    const body = {
      max_tokens: 64,
      tools: [{ name: "get_weather", input_schema: { type: "object" } }],
      messages: [user],
    };
    const once = await (await g.post("/v1/messages", body)).json();
    expect(once.content).toEqual([{ type: "text", text: WRITTEN }]);
    expect(once.stop_reason).toBe("max_tokens");
    const events = await sse(await g.post("/v1/messages", { ...body, stream: true }));
    expect(events.some((e) => e.content_block?.type === "tool_use")).toBe(false);
    expect(events.filter((e) => e.delta?.type === "text_delta").map((e) => e.delta.text).join("")).toBe(WRITTEN);
  });

  it("a readable call is delivered whole as a call in the stream", async () => {
    const g = testGateway();
    g.fake.reply(ids("[TOOL_CALLS]", "get_weather", "[ARGS]", '{"city": "Paris"}', "</s>"));
    const chunks = await sse(
      await g.post("/v1/chat/completions", { messages: [user], tools: [chatTool], stream: true }),
    );
    const calls = chunks.flatMap((c) => c.choices.flatMap((ch: any) => ch.delta.tool_calls ?? []));
    expect(calls[0]).toMatchObject({ index: 0, function: { name: "get_weather" } });
    expect(calls.map((c: any) => c.function.arguments).join("")).toBe('{"city": "Paris"}');
    expect(chunks.at(-1).choices[0].finish_reason).toBe("tool_calls");
  });
});
