// Function slots are released on every path, on both gateways: results that are not a Response, thrown errors,
// answers that never come, bodies that never end (cut at the function's timeoutMs), clients that leave. Each case
// ends with gust_requests_running back at 0. Functions also hold their own concurrency and body limits.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scrapeMetric } from "../helpers/metrics.ts";
import { type FunctionGateway, startFunctionGateway } from "../helpers/function-gateway.ts";
import { freePort } from "../helpers/processes.ts";

const fn = (body: string, limits = "{}") => `
  import { Hono } from "hono";
  import { defineFunction } from "gust/sdk";
  const app = new Hono();
  ${body}
  export default defineFunction({ app, limits: ${limits} });`;

// a body that sends a byte every 20 ms for as long as it is read
const forever = `
  const enc = new TextEncoder();
  const endless = () => new ReadableStream({
    async pull(ctl) { await new Promise((r) => setTimeout(r, 20)); try { ctl.enqueue(enc.encode("x")); } catch {} },
  });`;

describe.each(["bun", "deno"] as const)("function slots on %s", (kind) => {
  let g: FunctionGateway;
  beforeAll(async () => {
    g = await startFunctionGateway(kind, await freePort());
    const deploys = {
      number: `export default { fetch: () => 42 };`,
      throws: fn(`app.get("/", () => { throw new Error("boom"); });`),
      silent: fn(`app.get("/", () => new Promise(() => {}));`, "{ timeoutMs: 300 }"),
      endless: fn(`${forever} app.get("/", () => new Response(endless()));`, "{ timeoutMs: 400 }"),
      held: fn(`${forever} app.get("/", () => new Response(endless()));`),
      single: fn(
        `app.get("/", () => new Promise(() => {})); app.get("/ok", (c) => c.text("ok"));`,
        "{ maxConcurrency: 1, timeoutMs: 60000 }",
      ),
      small: fn(`app.post("/", async (c) => c.text(String((await c.req.text()).length)));`, "{ maxBodyBytes: 100 }"),
      hello: fn(`app.get("/", (c) => c.text("hello"));`),
    };
    await g.deployAll(deploys);
  }, 90_000);
  afterAll(async () => {
    await g?.stop();
  });

  it("a result that is not a Response is a 502 naming the function, and frees its slot", async () => {
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${g.base}/fn/number/`);
      expect(res.status).toBe(502);
      expect((await res.json()).error).toMatchObject({
        code: "function_bad_response",
        message: 'function "number" returned number instead of a Response',
      });
    }
    await g.drained();
  });

  it("a thrown error is a 500 and frees its slot", async () => {
    for (let i = 0; i < 20; i++) expect((await fetch(`${g.base}/fn/throws/`)).status).toBe(500);
    await g.drained();
  });

  it("an answer that never comes is a 504 naming the function's timeoutMs", async () => {
    const res = await fetch(`${g.base}/fn/silent/`);
    expect(res.status).toBe(504);
    expect((await res.json()).error.message).toBe(
      'function "silent" did not finish within its timeoutMs of 300 ms; it was stopped',
    );
    await g.drained();
  });

  it("a body that never ends is cut at the function's timeoutMs", async () => {
    const res = await fetch(`${g.base}/fn/endless/`);
    expect(res.status).toBe(200);
    const read = await res.text().then(() => "ended", () => "cut");
    expect(read).toBe("cut");
    await g.drained();
  });

  it("a client that leaves frees the slot, streaming or still waiting", async () => {
    const streaming = new AbortController();
    const res = await fetch(`${g.base}/fn/held/`, { signal: streaming.signal });
    await res.body!.getReader().read();
    const waiting = new AbortController();
    const pending = fetch(`${g.base}/fn/single/`, { signal: waiting.signal }).catch(() => null);
    while ((await g.running()) < 2) await new Promise((r) => setTimeout(r, 20));
    streaming.abort();
    waiting.abort();
    await pending;
    await g.drained();
  });

  it("a function at its maxConcurrency queues its own requests; other functions keep answering", async () => {
    const stuck = new AbortController();
    const first = fetch(`${g.base}/fn/single/`, { signal: stuck.signal }).catch(() => null);
    while ((await g.running()) < 1) await new Promise((r) => setTimeout(r, 20));
    const queued = fetch(`${g.base}/fn/single/ok`);
    while ((await scrapeMetric(g.base, "gust_queue_depth")) < 1) await new Promise((r) => setTimeout(r, 20));
    expect(await (await fetch(`${g.base}/fn/hello/`)).text()).toBe("hello");
    stuck.abort();
    await first;
    expect(await (await queued).text()).toBe("ok");
    await g.drained();
  });

  it("a body over the function's maxBodyBytes is a 413", async () => {
    const ok = await fetch(`${g.base}/fn/small/`, { method: "POST", body: "x".repeat(100) });
    expect(await ok.text()).toBe("100");
    const res = await fetch(`${g.base}/fn/small/`, { method: "POST", body: "x".repeat(101) });
    expect(res.status).toBe(413);
    expect((await res.json()).error.message).toContain("limit of 100 bytes");
    await g.drained();
  });
});
