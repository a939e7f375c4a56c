import { describe, expect, it } from "vitest";
import { ids } from "../helpers/fake-binding.ts";
import { testGateway, user } from "../helpers/gateway.ts";
import { settle } from "../helpers/manual-clock.ts";
import { StreamReader } from "../helpers/sse.ts";

function held(g: ReturnType<typeof testGateway>) {
  g.fake.script = () => ({ choices: [{ ids: ids("Hi", "</s>") }], manual: true });
}

describe("concurrency and queue limits", () => {
  it("queues past maxConcurrent, refuses past maxQueue with 429 and Retry-After, and resumes in order", async () => {
    const g = testGateway({ limits: { maxConcurrent: 1, maxQueue: 1, retryAfterSeconds: 7 } });
    held(g);
    const first = g.post("/v1/chat/completions", user("one"));
    await settle();
    expect(g.fake.calls).toHaveLength(1);
    const second = g.post("/v1/chat/completions", user("two"));
    await settle();
    expect(g.app.limiter.waiting).toBe(1);
    expect(g.fake.calls).toHaveLength(1); // the second waits in the gateway, not in the runtime

    const third = await g.post("/v1/chat/completions", user("three"));
    expect(third.status).toBe(429);
    expect(third.headers.get("retry-after")).toBe("7");
    expect((await third.json()).error).toMatchObject({ type: "rate_limit_error", code: "rate_limit_exceeded" });

    g.fake.calls[0].release(10);
    const done = await first;
    expect(done.status).toBe(200);
    await done.text(); // the slot is free once the body has been sent
    await settle();
    expect(g.fake.calls).toHaveLength(2);
    g.fake.calls[1].release(10);
    const last = await second;
    expect(last.status).toBe(200);
    await last.text();
    expect(g.app.limiter.running).toBe(0);
  });

  it("holds the slot until a stream's body is over, not until the handler returns", async () => {
    const g = testGateway({ limits: { maxConcurrent: 1, maxQueue: 0 } });
    held(g);
    const res = g.post("/v1/chat/completions", { ...user("one"), stream: true });
    await settle();
    g.fake.lastCall.release(1);
    const stream = new StreamReader((await res).body!);
    await stream.until((t) => t.includes('"content":"H"'));
    expect((await g.post("/v1/chat/completions", user("two"))).status).toBe(429);
    g.fake.lastCall.release(10);
    await stream.rest();
    await settle();
    expect(g.app.limiter.running).toBe(0);
    g.fake.reply(ids("ok", "</s>"));
    expect((await g.post("/v1/chat/completions", user("three"))).status).toBe(200);
  });

  it("gives up on a queued request after maxQueueWaitMs", async () => {
    const g = testGateway({ limits: { maxConcurrent: 1, maxQueue: 4, maxQueueWaitMs: 30_000 } });
    held(g);
    void g.post("/v1/chat/completions", user("one"));
    await settle();
    const queued = g.post("/v1/chat/completions", user("two"));
    await settle();
    await g.clock.advance(29_999);
    expect(g.app.limiter.waiting).toBe(1);
    await g.clock.advance(1);
    const res = await queued;
    expect(res.status).toBe(429);
    expect((await res.json()).error.code).toBe("queue_timeout");
    expect(g.app.limiter.waiting).toBe(0);
  });

  it("drops a queued request whose client went away", async () => {
    const g = testGateway({ limits: { maxConcurrent: 1, maxQueue: 4 } });
    held(g);
    void g.post("/v1/chat/completions", user("one"));
    await settle();
    const ac = new AbortController();
    const queued = g.post("/v1/chat/completions", user("two"), { signal: ac.signal });
    await settle();
    expect(g.app.limiter.waiting).toBe(1);
    ac.abort();
    await queued.catch(() => undefined);
    await settle();
    expect(g.app.limiter.waiting).toBe(0);
    expect(g.fake.calls).toHaveLength(1);
  });

  it("shows running and queued requests in /metrics", async () => {
    const g = testGateway({ limits: { maxConcurrent: 1, maxQueue: 4 } });
    held(g);
    void g.post("/v1/chat/completions", user("one"));
    void g.post("/v1/chat/completions", user("two"));
    await settle();
    const text = await (await g.app.request("/metrics")).text();
    expect(text).toContain("gust_requests_running 1\n");
    expect(text).toContain("gust_queue_depth 1\n");
  });
});
