// The example functions, called the way the gateway calls them (app.fetch with bindings in c.env),
// over a scripted fake runtime with the real tokenizer: the chat encoding, tool-call parsing and
// reasoning settings in between are the real ones.
import { describe, expect, it } from "vitest";
import agent, { runTool } from "../../functions/examples/agent.ts";
import extract, { firstJsonObject } from "../../functions/examples/extract.ts";
import summarize from "../../functions/examples/summarize.ts";
import { createFunctionModel } from "../../functions/sdk/function-model.ts";
import type { FunctionDefinition } from "../../functions/sdk/define-function.ts";
import { FakeBinding, ids } from "../helpers/fake-binding.ts";

function call(fn: FunctionDefinition, binding: FakeBinding, body: unknown) {
  const reasoning = {
    effort: fn.reasoning?.effort ?? "none",
    budgetTokens: fn.reasoning?.budgetTokens ?? null,
  } as const;
  const env = { model: createFunctionModel(binding, reasoning), reasoning, requestId: "test" };
  return fn.app.fetch(
    new Request("http://gateway/", {
      method: "POST",
      body: JSON.stringify(body),
      headers: { "content-type": "application/json" },
    }),
    env,
  );
}

const decode = (b: FakeBinding, i: number) => b.info.tokenizer.decode(b.calls[i].options.promptIds, "show");

describe("summarize", () => {
  it("thinks within its route budget and returns the answer without the reasoning", async () => {
    const binding = new FakeBinding().reply(ids("[THINK]", "short plan", "[/THINK]", "A summary.", "</s>"));
    const res = await call(summarize, binding, { text: "A long text about gust." });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ summary: "A summary.", finish_reason: "stop" });
    expect(binding.lastCall.options.reasoningBudget).toBe(512);
    expect(decode(binding, 0)).toContain('[MODEL_SETTINGS]{"reasoning_effort": "high"}[/MODEL_SETTINGS]');
    expect(decode(binding, 0)).toContain("A long text about gust.");
  });

  it("refuses a missing text", async () => {
    const res = await call(summarize, new FakeBinding(), { nope: 1 });
    expect(res.status).toBe(400);
    expect((await res.json()).error.param).toBe("text");
  });
});

describe("agent", () => {
  it("runs the tool call, sends the result back, and returns the final answer", async () => {
    let round = 0;
    const binding = new FakeBinding({
      script: () => ({
        choices: [{
          ids: round++ === 0
            ? ids("[TOOL_CALLS]", "add", "[ARGS]", '{"a": 2, "b": 3}', "</s>")
            : ids("It is 5.", "</s>"),
        }],
      }),
    });
    const res = await call(agent, binding, { question: "What is 2 + 3?" });
    const out = await res.json();
    expect(res.status).toBe(200);
    expect(out).toMatchObject({ answer: "It is 5.", rounds: 2, trace: [{ tool: "add", result: "5" }] });
    expect(decode(binding, 0)).toContain("[AVAILABLE_TOOLS]");
    const second = decode(binding, 1);
    expect(second).toMatch(/\[TOOL_CALLS\]add\[ARGS\]\{"a": 2, "b": 3\}<\/s>\[TOOL_RESULTS\]5\[\/TOOL_RESULTS\]$/);
  });

  it("tools report bad input as text the model can read", () => {
    expect(runTool("add", '{"a": 1}')).toMatch(/needs numbers/);
    expect(runTool("rm", "{}")).toMatch(/unknown tool rm/);
    expect(runTool("add", "{oops")).toMatch(/not valid JSON/);
  });
});

describe("extract", () => {
  it("returns the requested fields from the model's JSON, retrying once on prose", async () => {
    let round = 0;
    const binding = new FakeBinding({
      script: () => ({
        choices: [{
          ids: round++ === 0
            ? ids("Sure! Here it is.", "</s>")
            : ids('```json\n{"name": "Ada", "age": 36, "extra": 1}\n```', "</s>"),
        }],
      }),
    });
    const res = await call(extract, binding, { text: "Ada, 36", fields: ["name", "age", "city"] });
    expect(await res.json()).toEqual({ data: { name: "Ada", age: 36, city: null }, attempts: 2 });
    expect(decode(binding, 1)).toContain("That was not a complete JSON object");
    // both attempts ask the runtime for JSON mode
    expect(binding.calls.map((c) => c.options.responseFormat)).toEqual([{ type: "json_object" }, {
      type: "json_object",
    }]);
  });

  it("answers 422 when the model never produces JSON, and 400 on bad input", async () => {
    const res = await call(extract, new FakeBinding().reply(ids("no json here", "</s>")), { text: "x", fields: ["a"] });
    expect(res.status).toBe(422);
    expect((await res.json()).error.raw).toBe("no json here");
    expect((await call(extract, new FakeBinding(), { text: "x", fields: [] })).status).toBe(400);
    expect(firstJsonObject('a {"k": [1, {"z": 2}]} b }')).toEqual({ k: [1, { z: 2 }] });
  });
});

describe("FunctionModel options", () => {
  const tools = [{ type: "function" as const, function: { name: "add", parameters: { type: "object" } } }, {
    type: "function" as const,
    function: { name: "mul" },
  }];
  const model = (binding: FakeBinding) => createFunctionModel(binding, { effort: "none", budgetTokens: null });

  it("passes JSON mode, a schema, and required or named tool calls to the runtime", async () => {
    const binding = new FakeBinding().reply(ids("{}", "</s>"));
    const m = model(binding);
    const messages = [{ role: "user" as const, content: "x" }];
    await m.chat({ messages, responseFormat: "json_object" });
    expect(binding.lastCall.options.responseFormat).toEqual({ type: "json_object" });
    await m.chat({ messages, responseFormat: { type: "json_schema", schema: { type: "object" } } });
    expect(binding.lastCall.options.responseFormat).toEqual({ type: "json_schema", schema: { type: "object" } });
    await m.chat({ messages, tools, toolChoice: "required" });
    expect(binding.lastCall.options.toolCalls).toEqual({
      tools: [{ name: "add", parameters: { type: "object" } }, { name: "mul", parameters: undefined }],
      parallel: true,
    });
    await m.chat({ messages, tools, toolChoice: { name: "mul" } });
    expect(binding.lastCall.options.toolCalls).toEqual({
      tools: [{ name: "mul", parameters: undefined }],
      parallel: false,
    });
    await m.chat({ messages, tools });
    expect(binding.lastCall.options.toolCalls).toEqual({
      tools: [{ name: "add", parameters: { type: "object" } }, { name: "mul" }],
      parallel: true,
      optional: true,
    });
    expect(binding.lastCall.options.responseFormat).toBeUndefined();
  });

  it("refuses a tool choice the tools cannot satisfy, before anything reaches the runtime", async () => {
    const binding = new FakeBinding();
    const messages = [{ role: "user" as const, content: "x" }];
    await expect(model(binding).chat({ messages, toolChoice: "required" })).rejects.toMatchObject({
      status: 400,
      param: "toolChoice",
      message: expect.stringMatching(/^toolChoice: .*needs tools/),
    });
    await expect(model(binding).chat({ messages, tools, toolChoice: { name: "div" } })).rejects.toThrow(
      /"div", which is not among the tools \(add, mul\)/,
    );
    expect(binding.calls).toHaveLength(0);
  });
});
