import { describe, expect, it } from "vitest";
import { testGateway, user } from "../helpers/gateway.ts";

const KEY = "sk-test-0123456789";

describe("API-key auth", () => {
  it("without keys the gateway is open and local-only", async () => {
    const g = testGateway();
    expect(g.app.localOnly).toBe(true);
    expect((await g.post("/v1/chat/completions", user("hi"))).status).toBe(200);
  });

  it("reads GUST_API_KEYS when no keys are passed", () => {
    const g = testGateway({ apiKeys: undefined, env: (n) => (n === "GUST_API_KEYS" ? ` ${KEY} , other ` : undefined) });
    expect(g.app.localOnly).toBe(false);
    expect(g.app.gatewayOptions.apiKeys).toEqual([KEY, "other"]);
  });

  it("accepts Authorization: Bearer and x-api-key", async () => {
    const g = testGateway({ apiKeys: [KEY] });
    expect(g.app.localOnly).toBe(false);
    expect((await g.post("/v1/chat/completions", user("hi"), { headers: { authorization: `Bearer ${KEY}` } })).status)
      .toBe(200);
    expect((await g.post("/v1/chat/completions", user("hi"), { headers: { "x-api-key": KEY } })).status).toBe(200);
  });

  it("answers 401 with an OpenAI error body for a missing or wrong key", async () => {
    const g = testGateway({ apiKeys: [KEY] });
    const missing = await g.post("/v1/chat/completions", user("hi"));
    expect(missing.status).toBe(401);
    expect(missing.headers.get("www-authenticate")).toContain("Bearer");
    expect(await missing.json()).toEqual({
      error: {
        message: expect.stringContaining("Authorization: Bearer"),
        type: "authentication_error",
        param: null,
        code: "missing_api_key",
      },
    });

    for (
      const [headers, param] of [[{ authorization: `Bearer ${KEY}x` }, "authorization"], [{
        authorization: "Basic abc",
      }, "authorization"], [{ "x-api-key": KEY.slice(0, -1) }, "x-api-key"]] as const
    ) {
      const res = await g.post("/v1/chat/completions", user("hi"), { headers });
      expect(res.status).toBe(401);
      const body = await res.json();
      expect(body.error).toMatchObject({ type: "authentication_error", code: "invalid_api_key", param });
      expect(body.error.message).not.toContain(KEY.slice(0, 6)); // the key is never echoed
    }
    expect(g.fake.calls).toHaveLength(0);
  });

  it("leaves /health and /ready open, protects /metrics and /v1/models", async () => {
    const g = testGateway({ apiKeys: [KEY] });
    expect((await g.app.request("/health")).status).toBe(200);
    expect((await g.app.request("/ready")).status).toBe(200);
    expect((await g.app.request("/metrics")).status).toBe(401);
    expect((await g.app.request("/v1/models")).status).toBe(401);
    expect((await g.app.request("/metrics", { headers: { authorization: `Bearer ${KEY}` } })).status).toBe(200);
  });

  it("per-function keys open only their function", async () => {
    const g = testGateway({ apiKeys: [KEY], functionKeys: { summarize: ["fn-key"] } });
    g.app.mountFunctions((_c, name) => new Response(`hello from ${name}`));
    const fnKey = { headers: { authorization: "Bearer fn-key" } };
    expect(await (await g.app.request("/fn/summarize/run", fnKey)).text()).toBe("hello from summarize");
    expect((await g.app.request("/fn/summarize/run", { headers: { authorization: `Bearer ${KEY}` } })).status).toBe(
      200,
    );
    expect((await g.app.request("/fn/other/run", fnKey)).status).toBe(401);
    expect((await g.post("/v1/chat/completions", user("hi"), fnKey)).status).toBe(401);
  });

  it("with only function keys configured, the function needs its key and the gateway stays local-only", async () => {
    const g = testGateway({ functionKeys: { private: ["p-key"] } });
    g.app.mountFunctions(() => new Response("ok"));
    expect(g.app.localOnly).toBe(true);
    expect((await g.app.request("/fn/private/x")).status).toBe(401);
    expect((await g.app.request("/fn/private/x", { headers: { "x-api-key": "p-key" } })).status).toBe(200);
    expect((await g.app.request("/fn/public/x")).status).toBe(200);
  });
});
