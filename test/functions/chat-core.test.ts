// The chat routes and `c.var.model` in functions share one chat core, so the same request reaches the runtime the
// same way from both: same prompt ids, same sampling defaults, same max-token rule, same answer parsing.
import { describe, expect, it } from "vitest";
import type { GenerateOptions } from "../../functions/sdk/binding.ts";
import { createFunctionModel } from "../../functions/sdk/function-model.ts";
import { FakeBinding, ids } from "../helpers/fake-binding.ts";
import { testGateway } from "../helpers/gateway.ts";

const messages = [{ role: "system" as const, content: "Be brief." }, { role: "user" as const, content: "Hi there" }];
const noReasoning = { effort: "none", budgetTokens: null } as const;

/** What the runtime was asked for, without the per-call plumbing (abort signal, timeout). */
function sent(o: GenerateOptions) {
  const { signal: _s, timeoutMs: _t, ...rest } = o;
  return rest;
}

async function viaRoute(body: Record<string, unknown>, limits = {}) {
  const g = testGateway({ limits });
  const res = await g.post("/v1/chat/completions", { messages, ...body });
  return {
    status: res.status,
    json: await res.json(),
    options: g.fake.calls.map((c) => sent(c.options)),
    clamped: res.headers.get("x-gust-max-tokens-clamped"),
  };
}

async function viaSdk(input: Record<string, unknown>, limits?: { defaultMaxTokens: number | null }) {
  const fake = new FakeBinding();
  const model = createFunctionModel(fake, noReasoning, {
    limits: limits && { ...limits, maxMaxTokens: null, maxN: 8, modelAliases: [] },
  });
  const result = await model.chat({ messages, ...input });
  return { result, options: fake.calls.map((c) => sent(c.options)) };
}

describe("one chat core for routes and functions", () => {
  it("sends the same generation for a request with no sampling fields (runtime defaults: temperature 1)", async () => {
    const route = await viaRoute({});
    const sdk = await viaSdk({});
    expect(route.status).toBe(200);
    expect(sdk.options).toEqual(route.options);
    expect(route.options[0].sampling).toEqual({}); // nothing pinned on either side: the runtime's defaults apply
    expect(sdk.result.content).toBe(route.json.choices[0].message.content);
  });

  it("maps the same fields the same way (temperature, top_p, seed, stop ids, max tokens)", async () => {
    const route = await viaRoute({ temperature: 0, top_p: 0.5, seed: 7, stop_token_ids: [65], max_tokens: 9 });
    const sdk = await viaSdk({ temperature: 0, topP: 0.5, seed: 7, stopTokenIds: [65], maxTokens: 9 });
    expect(sdk.options).toEqual(route.options);
    expect(route.options[0]).toMatchObject({ maxTokens: 9, stopIds: [65], sampling: { temperature: 0, seed: 7 } });
  });

  it("applies the gateway's default max tokens on both sides", async () => {
    const route = await viaRoute({}, { defaultMaxTokens: 5 });
    const sdk = await viaSdk({}, { defaultMaxTokens: 5 });
    expect(route.options[0].maxTokens).toBe(5);
    expect(sdk.options).toEqual(route.options);
  });

  it("clamps max tokens beyond the context on both sides and says so", async () => {
    const route = await viaRoute({ max_tokens: 1_000_000 });
    expect(route.status).toBe(200);
    const sdk = await viaSdk({ maxTokens: 1_000_000 });
    expect(sdk.options).toEqual(route.options);
    const room = 4096 - route.options[0].promptIds.length;
    expect(route.options[0].maxTokens).toBe(room);
    expect(route.clamped).toBe(`1000000 -> ${room}`);
    expect(sdk.result.maxTokensClamped).toEqual({ requested: 1_000_000, allowed: room });
    expect((await viaSdk({ maxTokens: 5 })).result.maxTokensClamped).toBeNull();
  });

  it("refuses a prompt that alone fills the context on both sides, naming both numbers", async () => {
    const long = [{ role: "user" as const, content: "word ".repeat(5000) }];
    const route = await testGateway().post("/v1/chat/completions", { messages: long, max_tokens: 5 });
    expect(route.status).toBe(400);
    const err = (await route.json()).error;
    expect(err.message).toMatch(/the prompt is \d+ tokens and the model's context holds 4096/);
    const sdk = createFunctionModel(new FakeBinding(), noReasoning).chat({ messages: long, maxTokens: 5 });
    await expect(sdk).rejects.toMatchObject({ status: 400, code: "context_length_exceeded" });
  });

  it("cuts stop sequences from a function's answer like the routes do", async () => {
    const reply = ids("one two END three", "</s>");
    const route = await testGateway({ fake: { script: () => ({ choices: [{ ids: reply }] }) } })
      .post("/v1/chat/completions", { messages, stop: ["END"] });
    const fake = new FakeBinding({ script: () => ({ choices: [{ ids: reply }] }) });
    const sdk = await createFunctionModel(fake, noReasoning).chat({ messages, stop: ["END"] });
    expect(sdk.content).toBe((await route.json()).choices[0].message.content);
    expect(sdk.content).toBe("one two ");
  });
});
