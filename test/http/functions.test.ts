import { describe, expect, it } from "vitest";
import { FUNCTION_NAME_RE } from "../../edge/functions-mount.ts";
import { testGateway } from "../helpers/gateway.ts";
import { settle } from "../helpers/manual-clock.ts";

describe("/fn/<name>/* function slot", () => {
  it("hands the request and the function name to the registry", async () => {
    const g = testGateway();
    const seen: Array<[string, string, string]> = [];
    g.app.mountFunctions((c, name) => {
      seen.push([name, c.req.path, c.var.requestId]);
      return c.json({ name });
    });
    const res = await g.app.request("/fn/summarize/v1/run?x=1", {
      method: "POST",
      body: "hello",
      headers: { "x-request-id": "r1" },
    });
    expect(await res.json()).toEqual({ name: "summarize" });
    expect(seen).toEqual([["summarize", "/fn/summarize/v1/run", "r1"]]);
    expect((await g.app.request("/fn/summarize")).status).toBe(200);
  });

  it("404 when the registry has no such function, or nothing is mounted", async () => {
    const g = testGateway();
    let res = await g.app.request("/fn/none/x");
    expect(res.status).toBe(404);
    expect((await res.json()).error).toMatchObject({ code: "function_not_found", param: "name" });
    g.app.mountFunctions(() => null);
    res = await g.app.request("/fn/none/x");
    expect(res.status).toBe(404);
  });

  it("refuses names with path characters before the registry sees them", async () => {
    const g = testGateway();
    const names: string[] = [];
    g.app.mountFunctions((c, name) => {
      names.push(name);
      return c.text("reached");
    });
    for (
      const path of [
        "/fn/a%2Fb/x",
        "/fn/..%2F..%2Fetc/x",
        "/fn/a.b/x",
        "/fn/%2e%2e%2fx/y",
        "/fn/a%20b/x",
        "/fn/-lead/x",
        "/fn/a%00/x",
        `/fn/${"n".repeat(65)}/x`,
        "/fn//x",
        "/fn",
      ]
    ) {
      const res = await g.app.request(path);
      expect(res.status, path).toBe(400);
      const err = (await res.json()).error;
      expect(err).toMatchObject({ code: "invalid_function_name", param: "name", type: "invalid_request_error" });
    }
    expect(names).toEqual([]);
    expect(FUNCTION_NAME_RE.test("my-func_2")).toBe(true);
  });

  it("a new mount takes the next request; a running request keeps the handler it started with", async () => {
    const g = testGateway();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    g.app.mountFunctions(async (c) => {
      await gate;
      return c.text("v1");
    });
    const running = g.app.request("/fn/f/x");
    await settle();
    g.app.mountFunctions((c) => c.text("v2"));
    expect(await (await g.app.request("/fn/f/x")).text()).toBe("v2");
    release();
    expect(await (await running).text()).toBe("v1");
  });

  it("functions run under the concurrency limit and the deadline", async () => {
    const g = testGateway({ limits: { maxConcurrent: 1, maxQueue: 0, requestTimeoutMs: 5000 } });
    let deadlineAt = 0;
    g.app.mountFunctions(async (c) => {
      deadlineAt = c.var.deadline.expiresAt;
      await new Promise(() => {});
      return c.text("never");
    });
    const first = g.app.request("/fn/f/x");
    await settle();
    expect(deadlineAt).toBe(g.clock.now() + 5000);
    expect((await g.app.request("/fn/f/x")).status).toBe(429);
    await g.clock.advance(5000);
    expect((await first).status).toBe(504);
  });

  it("errors thrown by a function become OpenAI-shaped 500s", async () => {
    const g = testGateway();
    g.app.mountFunctions(() => {
      throw new Error("db password is hunter2");
    });
    const res = await g.app.request("/fn/f/x");
    expect(res.status).toBe(500);
    const body = await res.json();
    expect(body.error.type).toBe("server_error");
    expect(JSON.stringify(body)).not.toContain("hunter2");
    expect(g.errors).toHaveLength(1);
  });
});
