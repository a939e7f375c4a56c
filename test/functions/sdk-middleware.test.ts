// What `gust/sdk` gives a function besides the model: the reasoning middleware the chat routes use, and `vision()`,
// which hands the request's images to the gateway's preparer and leaves them in `c.var.vision` for the model call.
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { createFunctionModel } from "../../functions/sdk/function-model.ts";
import { defineFunction, type FunctionEnv, reasoning, vision } from "../../functions/sdk/index.ts";
import type { FunctionVisionOptions } from "../../functions/sdk/types.ts";
import type { VisionState } from "../../functions/http/env.ts";
import { FakeBinding } from "../helpers/fake-binding.ts";

const none = { effort: "none", budgetTokens: null } as const;

function post(fn: ReturnType<typeof defineFunction>, model: ReturnType<typeof createFunctionModel>, body: unknown) {
  return fn.app.fetch(
    new Request("http://gateway/", {
      method: "POST",
      body: JSON.stringify(body),
      headers: { "content-type": "application/json" },
    }),
    { model, reasoning: none, requestId: "t" },
  );
}

describe("gust/sdk middleware in a function", () => {
  it("reasoning() reads the request's effort and budget, and the model call takes it", async () => {
    const app = new Hono<FunctionEnv>();
    app.post("/", reasoning({ default: { effort: "none" } }) as never, async (c) => {
      const { messages } = await c.req.json();
      return c.json(await c.var.model.chat({ messages, reasoning: c.var.reasoning }));
    });
    const fake = new FakeBinding();
    const res = await post(defineFunction({ app }), createFunctionModel(fake, none), {
      messages: [{ role: "user", content: "Think" }],
      reasoning: { budget_tokens: 40 },
    });
    expect(res.status).toBe(200);
    expect(fake.lastCall.options.reasoningBudget).toBe(40);
    expect(fake.info.tokenizer.decode(fake.lastCall.options.promptIds, "show")).toContain('"reasoning_effort": "high"');
  });

  it("vision() prepares the images once and the model call uses them, pixels and grid", async () => {
    const seen: Array<{ body: unknown; options: FunctionVisionOptions }> = [];
    const source = "data:image/png;base64,AAAA";
    const prepared: VisionState = {
      images: new Map([[source, {
        rgb: new Uint8Array(28 * 28 * 3),
        width: 28,
        height: 28,
        hash: "h",
        cols: 1,
        rows: 1,
      }]]),
      imageTokens: 2,
    };
    const fake = new FakeBinding({ hasVision: true });
    const model = createFunctionModel(fake, none, {
      prepareImages: async (body, options) => (seen.push({ body, options }), prepared),
    });
    const app = new Hono<FunctionEnv>();
    app.post("/", vision({ maxImages: 1 }), async (c) => {
      const { messages } = await c.req.json();
      return c.json(await c.var.model.chat({ messages, vision: c.var.vision }));
    });
    const messages = [{ role: "user", content: [{ type: "image_url", image_url: { url: source } }] }];
    const res = await post(defineFunction({ app }), model, { messages });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(seen).toEqual([{ body: { messages }, options: { maxImages: 1 } }]); // prepared once, by the middleware
    const sent = fake.lastCall.options;
    expect(sent.images).toEqual([{ rgb: prepared.images.get(source)!.rgb, width: 28, height: 28, hash: "h" }]);
    expect(fake.info.tokenizer.decode(sent.promptIds, "show")).toContain("[IMG][IMG_END]");
  });

  it("an image with no preparer and no prepared pixels is a 400 naming the part", async () => {
    const app = new Hono<FunctionEnv>();
    app.post("/", async (c) => c.json(await c.var.model.chat(await c.req.json())));
    const res = await post(defineFunction({ app }), createFunctionModel(new FakeBinding({ hasVision: true }), none), {
      messages: [{ role: "user", content: [{ type: "image", image: "AAAA" }] }],
    });
    expect(res.status).toBe(400);
    expect((await res.json()).error.message).toMatch(/messages\[0\]\.content\[0\]/);
  });
});
