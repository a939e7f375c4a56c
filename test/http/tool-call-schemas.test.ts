// Under tool_choice "auto", every dialect and the function SDK ask the runtime to hold a call's arguments to its
// tool's parameter schema, strict or not (--tool-call-schemas all, the default); with "strict", only strict tools'
// schemas go, and a non-strict tool is held to its name and any JSON object (the behaviour before the switch).
import { describe, expect, it } from "vitest";
import { FakeBinding, ids } from "../helpers/fake-binding.ts";
import { testGateway } from "../helpers/gateway.ts";
import { createFunctionModel } from "../../functions/sdk/function-model.ts";
import type { ToolCallSchemas } from "../../functions/chat/index.ts";
import { resolveOptions } from "../../edge/options.ts";

const GOAL = { type: "object", properties: {}, required: [], additionalProperties: false };
const WEATHER = { type: "object", properties: { city: { type: "string" } }, required: ["city"] };
const user = { role: "user", content: "Weather in Oslo?" };

/** One request per dialect, each offering a non-strict get_goal and a strict get_weather. */
const dialects: [string, string, unknown][] = [
  ["/v1/chat/completions", "chat completions", {
    messages: [user],
    tools: [
      { type: "function", function: { name: "get_goal", parameters: GOAL } },
      { type: "function", function: { name: "get_weather", parameters: WEATHER, strict: true } },
    ],
  }],
  ["/mistral/v1/chat/completions", "Mistral", {
    messages: [user],
    tools: [
      { type: "function", function: { name: "get_goal", parameters: GOAL, strict: false } },
      { type: "function", function: { name: "get_weather", parameters: WEATHER, strict: true } },
    ],
  }],
  ["/v1/responses", "Responses", {
    input: "Weather in Oslo?",
    tools: [
      { type: "function", name: "get_goal", parameters: GOAL, strict: false },
      { type: "function", name: "get_weather", parameters: WEATHER },
    ],
  }],
  ["/v1/messages", "Messages", {
    max_tokens: 64,
    messages: [user],
    tools: [
      { name: "get_goal", input_schema: GOAL, strict: false },
      { name: "get_weather", input_schema: WEATHER },
    ],
  }],
];

const held = (schemas: ToolCallSchemas) => ({
  tools: [
    schemas === "all" ? { name: "get_goal", parameters: GOAL } : { name: "get_goal" },
    { name: "get_weather", parameters: WEATHER },
  ],
  parallel: true,
  optional: true,
});

describe("tool-call argument schemas under tool_choice auto", () => {
  for (const schemas of ["all", "strict"] as const) {
    for (const [path, name, body] of dialects) {
      it(`${name}: --tool-call-schemas ${schemas}`, async () => {
        const g = testGateway(schemas === "all" ? {} : { limits: { toolCallSchemas: schemas } });
        g.fake.reply(ids("It is sunny.", "</s>"));
        const res = await g.post(path, body);
        expect(res.status, await res.clone().text()).toBe(200);
        expect(g.fake.lastCall.options.toolCalls).toEqual(held(schemas));
      });
    }

    it(`the function SDK: ${schemas}`, async () => {
      const binding = new FakeBinding().reply(ids("It is sunny.", "</s>"));
      const limits = {
        defaultMaxTokens: null,
        maxMaxTokens: null,
        maxN: 1,
        modelAliases: [],
        toolCallSchemas: schemas,
      };
      const m = createFunctionModel(binding, { effort: "none", budgetTokens: null }, { limits });
      await m.chat({
        messages: [{ role: "user", content: "Weather in Oslo?" }],
        tools: [
          { type: "function", function: { name: "get_goal", parameters: GOAL } },
          { type: "function", function: { name: "get_weather", parameters: WEATHER, strict: true } },
        ],
      });
      expect(binding.lastCall.options.toolCalls).toEqual(held(schemas));
    });
  }

  it("a gateway option other than all or strict is refused, naming both", () => {
    const binding = () => null;
    expect(() => resolveOptions({ binding, limits: { toolCallSchemas: "none" as ToolCallSchemas } })).toThrow(
      /toolCallSchemas must be one of all, strict, got none/,
    );
    expect(resolveOptions({ binding }).limits.toolCallSchemas).toBe("all");
  });
});
