import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import type { GatewayEnv } from "../../functions/http/env.ts";
import { HttpError } from "../../functions/http/errors.ts";
import { errorHandler } from "../../edge/middleware/error-handler.ts";
import { reasoning, resolveReasoning } from "../../functions/middleware/reasoning.ts";
import type { ReasoningOptions } from "../../functions/middleware/reasoning.ts";
import { ids } from "../helpers/fake-binding.ts";
import { testGateway, user } from "../helpers/gateway.ts";

const pick = (r: { effort: string; budgetTokens: number | null }) => [r.effort, r.budgetTokens];

describe("resolveReasoning: request fields → {effort, budgetTokens}", () => {
  const table: Array<[string, Record<string, unknown> | null, ReasoningOptions, [string, number | null]]> = [
    ["nothing → route default (none)", {}, {}, ["none", 0]],
    ["no body → route default", null, { default: { effort: "high", budgetTokens: 500 } }, ["high", 500]],
    ["reasoning_effort none", { reasoning_effort: "none" }, {}, ["none", 0]],
    ["reasoning_effort minimal", { reasoning_effort: "minimal" }, {}, ["high", 256]],
    ["reasoning_effort low", { reasoning_effort: "low" }, {}, ["high", 1024]],
    ["reasoning_effort medium", { reasoning_effort: "medium" }, {}, ["high", 4096]],
    ["reasoning_effort high → unlimited", { reasoning_effort: "high" }, {}, ["high", null]],
    ["reasoning_effort xhigh → unlimited", { reasoning_effort: "xhigh" }, {}, ["high", null]],
    ["reasoning_effort max (Vibe) → unlimited", { reasoning_effort: "max" }, {}, ["high", null]],
    ["top-level budget_tokens (the seeds' extra_body)", { budget_tokens: 4096 }, {}, ["high", 4096]],
    ["top-level budget_tokens 0 → none", { budget_tokens: 0 }, { default: { effort: "high" } }, ["none", 0]],
    ["top-level budget_tokens with an effort", { reasoning_effort: "low", budget_tokens: 77 }, {}, ["high", 77]],
    ["both budgets agreeing", { budget_tokens: 50, reasoning: { budget_tokens: 50 } }, {}, ["high", 50]],
    ["effort budgets configurable", { reasoning_effort: "low" }, { effortBudgets: { low: 99 } }, ["high", 99]],
    ["null effort = absent", { reasoning_effort: null }, { default: { effort: "medium" } }, ["high", 4096]],
    ["budget_tokens N", { reasoning: { budget_tokens: 300 } }, {}, ["high", 300]],
    ["budget_tokens 0 → none", { reasoning: { budget_tokens: 0 } }, { default: { effort: "high" } }, ["none", 0]],
    ["effort + explicit budget", { reasoning_effort: "low", reasoning: { budget_tokens: 700 } }, {}, ["high", 700]],
    ["reasoning.effort", { reasoning: { effort: "medium" } }, {}, ["high", 4096]],
    ["operator cap clamps a budget", { reasoning: { budget_tokens: 9000 } }, { maxBudgetTokens: 2000 }, ["high", 2000]],
    ["operator cap bounds unlimited", { reasoning_effort: "high" }, { maxBudgetTokens: 2000 }, ["high", 2000]],
    ["operator cap leaves smaller budgets", { reasoning_effort: "low" }, { maxBudgetTokens: 2000 }, ["high", 1024]],
    ["reasoning disabled by the operator", { reasoning_effort: "high" }, { allowReasoning: false }, ["none", 0]],
    ["route default with budget", {}, { default: { effort: "high", budgetTokens: 128 } }, ["high", 128]],
    ["mistral prompt_mode reasoning", { prompt_mode: "reasoning" }, { mistral: true }, ["high", null]],
    ["prompt_mode ignored outside the mistral dialect", { prompt_mode: "reasoning" }, {}, ["none", 0]],
    ["mistral prompt_mode + effort high", { prompt_mode: "reasoning", reasoning_effort: "high" }, { mistral: true }, [
      "high",
      null,
    ]],
  ];
  for (const [name, body, opts, want] of table) {
    it(name, () => expect(pick(resolveReasoning(body, opts))).toEqual(want));
  }

  const bad: Array<[string, Record<string, unknown>, ReasoningOptions, string]> = [
    ["unknown effort", { reasoning_effort: "extreme" }, {}, "reasoning_effort"],
    ["effort of the wrong type", { reasoning_effort: 3 }, {}, "reasoning_effort"],
    ["negative budget", { reasoning: { budget_tokens: -1 } }, {}, "reasoning.budget_tokens"],
    ["negative top-level budget", { budget_tokens: -5 }, {}, "budget_tokens"],
    ["two budgets disagreeing", { budget_tokens: 5, reasoning: { budget_tokens: 6 } }, {}, "budget_tokens"],
    ["top-level budget against effort none", { reasoning_effort: "none", budget_tokens: 9 }, {}, "budget_tokens"],
    ["fractional budget", { reasoning: { budget_tokens: 1.5 } }, {}, "reasoning.budget_tokens"],
    ["reasoning not an object", { reasoning: "high" }, {}, "reasoning"],
    [
      "none with a budget",
      { reasoning_effort: "none", reasoning: { budget_tokens: 10 } },
      {},
      "reasoning.budget_tokens",
    ],
    [
      "budget 0 with high",
      { reasoning_effort: "high", reasoning: { budget_tokens: 0 } },
      {},
      "reasoning.budget_tokens",
    ],
    ["two different efforts", { reasoning_effort: "low", reasoning: { effort: "high" } }, {}, "reasoning.effort"],
    [
      "prompt_mode against none",
      { prompt_mode: "reasoning", reasoning_effort: "none" },
      { mistral: true },
      "prompt_mode",
    ],
    ["unknown prompt_mode", { prompt_mode: "fast" }, { mistral: true }, "prompt_mode"],
  ];
  for (const [name, body, opts, param] of bad) {
    it(`400: ${name}`, () => {
      let err: unknown;
      try {
        resolveReasoning(body, opts);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(HttpError);
      expect((err as HttpError).status).toBe(400);
      expect((err as HttpError).param).toBe(param);
    });
  }
});

describe("reasoning middleware", () => {
  function mini(opts: ReasoningOptions) {
    const app = new Hono<GatewayEnv>();
    app.post("/r", reasoning(opts), (c) => c.json(c.var.reasoning));
    app.get("/r", reasoning(opts), (c) => c.json(c.var.reasoning));
    app.onError(errorHandler(() => {}));
    return app;
  }

  it("sets a typed c.var.reasoning from a JSON body", async () => {
    const res = await mini({}).request("/r", {
      method: "POST",
      body: JSON.stringify({ reasoning_effort: "low" }),
      headers: { "content-type": "application/json" },
    });
    expect(await res.json()).toEqual({ effort: "high", budgetTokens: 1024, source: "request:reasoning_effort" });
  });

  it("uses the route default for GET and for non-JSON bodies (functions that take text)", async () => {
    const app = mini({ default: { effort: "high", budgetTokens: 64 } });
    expect((await (await app.request("/r")).json()).budgetTokens).toBe(64);
    const text = await app.request("/r", {
      method: "POST",
      body: "reasoning_effort=none",
      headers: { "content-type": "text/plain" },
    });
    expect(await text.json()).toMatchObject({ effort: "high", budgetTokens: 64 });
  });

  it("answers 400 naming the field", async () => {
    const res = await mini({}).request("/r", {
      method: "POST",
      body: JSON.stringify({ reasoning_effort: "ultra" }),
      headers: { "content-type": "application/json" },
    });
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatchObject({ param: "reasoning_effort", type: "invalid_request_error" });
  });

  it("refuses bad options at setup", () => {
    expect(() => reasoning({ maxBudgetTokens: -5 })).toThrow(/maxBudgetTokens/);
  });
});

describe("reasoning through the chat routes", () => {
  const settingsText = (g: ReturnType<typeof testGateway>) =>
    g.fake.info.tokenizer.decode(g.fake.lastCall.options.promptIds, "show");

  it("puts the effort in [MODEL_SETTINGS] and the budget on the runtime request", async () => {
    const g = testGateway();
    await g.post("/v1/chat/completions", { ...user("hi"), reasoning_effort: "medium" });
    expect(settingsText(g)).toContain('[MODEL_SETTINGS]{"reasoning_effort": "high"}[/MODEL_SETTINGS]');
    expect(g.fake.lastCall.options.reasoningBudget).toBe(4096);
    await g.post("/v1/chat/completions", user("hi"));
    expect(settingsText(g)).toContain('{"reasoning_effort": "none"}');
    expect(g.fake.lastCall.options.reasoningBudget).toBe(0);
  });

  it("applies operator defaults and caps from createApp", async () => {
    const g = testGateway({ reasoning: { default: { effort: "high", budgetTokens: 5000 }, maxBudgetTokens: 1000 } });
    await g.post("/v1/chat/completions", user("hi"));
    expect(g.fake.lastCall.options.reasoningBudget).toBe(1000);
  });

  it("Mistral prompt_mode reasoning turns reasoning on", async () => {
    const g = testGateway();
    g.fake.reply(ids("[THINK]", "plan", "[/THINK]", "ok", "</s>"));
    const res = await g.post("/mistral/v1/chat/completions", { ...user("hi"), prompt_mode: "reasoning" });
    expect(settingsText(g)).toContain('{"reasoning_effort": "high"}');
    expect((await res.json()).choices[0].message.content[0]).toEqual({
      type: "thinking",
      thinking: [{ type: "text", text: "plan" }],
    });
  });

  it("reports reasoning tokens and the budget flag in usage", async () => {
    const g = testGateway();
    g.fake.reply(ids("[THINK]", "abc", "[/THINK]", "ok", "</s>"));
    const body = await (await g.post("/v1/chat/completions", { ...user("hi"), reasoning: { budget_tokens: 10 } }))
      .json();
    expect(body.usage.completion_tokens_details).toEqual({
      reasoning_tokens: ids("abc").length,
      reasoning_budget_exhausted: false,
    });
    expect(g.fake.lastCall.options.reasoningBudget).toBe(10);
  });
});
