import { describe, expect, it } from "vitest";
import { HttpError } from "../../functions/http/errors.ts";
import { ids } from "../helpers/fake-binding.ts";
import { testGateway, user } from "../helpers/gateway.ts";
import { settle } from "../helpers/manual-clock.ts";
import { parseSse, sseJson, StreamReader } from "../helpers/sse.ts";

const TIMEOUT = 10_000;

function slowGateway() {
  const g = testGateway({ limits: { requestTimeoutMs: TIMEOUT }, keepAliveMs: 1000 });
  g.fake.script = () => ({ choices: [{ ids: ids("Hello world", "</s>") }], manual: true });
  return g;
}

const post = (g: ReturnType<typeof testGateway>, body: unknown, env = {}) =>
  g.app.request("/v1/chat/completions", {
    method: "POST",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json" },
  }, env);

describe("deadline", () => {
  it("answers 504 when nothing was sent, and aborts the runtime sequence with the deadline as reason", async () => {
    const g = slowGateway();
    let lifted = 0;
    const res = post(g, user("hi"), { liftIdleTimeout: () => lifted++ });
    await settle();
    const call = g.fake.lastCall;
    expect(call.options.timeoutMs).toBe(TIMEOUT + 1000); // the runtime's own backstop, a little later than ours
    expect(lifted).toBe(1);
    await g.clock.advance(TIMEOUT - 1);
    expect(call.aborted).toBe(false);
    await g.clock.advance(1);
    const r = await res;
    expect(r.status).toBe(504);
    expect(await r.json()).toEqual({
      error: {
        message: expect.stringContaining(`${TIMEOUT} ms`),
        type: "timeout_error",
        param: null,
        code: "deadline_exceeded",
      },
    });
    expect(call.aborted).toBe(true);
    expect(call.abortReason).toBeInstanceOf(HttpError);
    expect((call.abortReason as HttpError).code).toBe("deadline_exceeded");
    const metrics = await (await g.app.request("/metrics")).text();
    expect(metrics).toContain('gust_aborts_total{reason="deadline"} 1');
  });

  it("a stream whose first token never came gets a real 504, not a 200 stream", async () => {
    const g = testGateway({ limits: { requestTimeoutMs: 3000 }, keepAliveMs: 5000 });
    g.fake.script = () => ({ choices: [{ ids: ids("x", "</s>") }], manual: true });
    const res = post(g, { ...user("hi"), stream: true });
    await settle();
    await g.clock.advance(3000);
    expect((await res).status).toBe(504);
    expect(g.fake.lastCall.aborted).toBe(true);
  });

  it("ends a stream already under way with an error event and aborts the sequence", async () => {
    const g = slowGateway();
    const res = post(g, { ...user("hi"), stream: true });
    await settle();
    g.fake.lastCall.release(2);
    const r = await res;
    expect(r.status).toBe(200);
    const stream = new StreamReader(r.body!);
    await stream.until((t) => sseJson(parseSse(t.slice(0, t.lastIndexOf("\n\n") + 2))).length >= 3); // role + 2 tokens
    await g.clock.advance(TIMEOUT);
    const frames = parseSse(await stream.rest());
    expect(frames.some((f) => f.text === "[DONE]")).toBe(false);
    const last = sseJson(frames).at(-1);
    expect(last).toEqual({
      error: {
        message: expect.stringContaining("deadline"),
        type: "timeout_error",
        param: null,
        code: "deadline_exceeded",
      },
    });
    expect(g.fake.lastCall.aborted).toBe(true);
    expect(g.fake.lastCall.abortedAfter).toBe(2);
  });

  it("answers 504 for a function that ignores the signal, and its late answer changes nothing", async () => {
    const g = testGateway({ limits: { requestTimeoutMs: TIMEOUT } });
    let finish!: (r: Response) => void;
    let sawAbort = false;
    g.app.mountFunctions((c) => {
      c.var.deadline.signal.addEventListener("abort", () => (sawAbort = true));
      return new Promise<Response>((resolve) => (finish = resolve));
    });
    const res = g.app.request("/fn/slow/x");
    await settle();
    await g.clock.advance(TIMEOUT);
    const r = await res;
    expect(r.status).toBe(504);
    expect(sawAbort).toBe(true);
    finish(new Response("too late"));
    await settle();
    expect((await r.json()).error.code).toBe("deadline_exceeded");
    expect(g.app.metrics.inFlight.collect!()).toBe(0);
  });

  it("clears its timer when the request is over", async () => {
    const g = testGateway({ limits: { requestTimeoutMs: TIMEOUT } });
    const r = await post(g, user("hi"));
    await r.text();
    await settle();
    expect(g.clock.pending).toBe(0);
  });
});
