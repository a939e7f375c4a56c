// Small pieces of the gateway on their own: stop-sequence matching, the SSE writer, the Prometheus writer, the
// end-of-body hook and the listen-address rule of the server entries.
import { describe, expect, it } from "vitest";
import { bodyInMemory, whenBodyDone } from "../../functions/http/lifecycle.ts";
import { Counter, Gauge, Histogram, Registry } from "../../edge/metrics/registry.ts";
import { listenHostname } from "../../edge/serve-options.ts";
import { SseStream } from "../../functions/http/sse.ts";
import { StopMatcher } from "../../functions/chat/stop.ts";
import { ManualClock, settle } from "../helpers/manual-clock.ts";
import { parseSse, StreamReader } from "../helpers/sse.ts";

describe("StopMatcher", () => {
  const run = (stops: string[], pieces: string[]) => {
    const m = new StopMatcher(stops);
    const shown: string[] = [];
    for (const p of pieces) {
      const r = m.push(p);
      shown.push(r.text);
      if (r.stopped) return { shown, stopped: true };
    }
    shown.push(m.flush());
    return { shown, stopped: false };
  };

  it("cuts before the earliest stop sequence", () => {
    expect(run(["END"], ["abcEND", "x"])).toEqual({ shown: ["abc"], stopped: true });
    expect(run(["b", "a"], ["xab"])).toEqual({ shown: ["x"], stopped: true });
  });

  it("holds back a possible beginning and releases it when it does not continue", () => {
    expect(run(["END"], ["abcE", "N", "x"])).toEqual({ shown: ["abc", "", "ENx", ""], stopped: false });
    expect(run(["END"], ["abcE", "ND!"])).toEqual({ shown: ["abc", ""], stopped: true });
  });

  it("matches across many one-character pieces and never shows a piece of the sequence", () => {
    const { shown, stopped } = run(["</answer>"], [..."ok</answer>more"]);
    expect(stopped).toBe(true);
    expect(shown.join("")).toBe("ok");
    expect(shown.some((s) => s.includes("<"))).toBe(false);
  });

  it("flushes held text at the end", () => {
    expect(run(["abc"], ["xxab"])).toEqual({ shown: ["xx", "ab"], stopped: false });
  });
});

describe("SseStream", () => {
  it("writes data events and keep-alive comments only after silence", async () => {
    const clock = new ManualClock();
    const sse = new SseStream({ clock, keepAliveMs: 1000 });
    const reader = new StreamReader(sse.readable);
    sse.event({ a: 1 });
    await clock.advance(600);
    sse.event("[DONE]");
    await clock.advance(600); // 600 ms since the last write: no comment yet
    await clock.advance(400);
    await clock.advance(1000);
    sse.close();
    expect(parseSse(await reader.rest())).toEqual([
      { kind: "data", text: '{"a":1}' },
      { kind: "data", text: "[DONE]" },
      { kind: "comment", text: "keep-alive" },
      { kind: "comment", text: "keep-alive" },
    ]);
    expect(clock.pending).toBe(0); // closing clears the timer
  });

  it("reports a cancelled body and stops writing", async () => {
    const clock = new ManualClock();
    let cancelled = 0;
    const sse = new SseStream({ clock, keepAliveMs: 1000, onCancel: () => cancelled++ });
    await sse.readable.cancel("gone");
    expect(cancelled).toBe(1);
    expect(sse.isClosed).toBe(true);
    sse.event({ late: true }); // no throw
    expect(clock.pending).toBe(0);
  });

  it("ready() waits while the client does not read", async () => {
    const clock = new ManualClock();
    const sse = new SseStream({ clock, keepAliveMs: 60_000 });
    for (let i = 0; i < 20; i++) sse.event({ i });
    let ready = false;
    void sse.ready().then(() => (ready = true));
    await settle();
    expect(ready).toBe(false);
    const reader = sse.readable.getReader();
    const { value } = await reader.read(); // everything pending leaves as one chunk
    expect(parseSse(new TextDecoder().decode(value)).length).toBe(20);
    await settle();
    expect(ready).toBe(true);
    sse.close();
  });

  it("sends a burst as one chunk, an event written while the reader waits at once, and ends the body when the reader took the last one", async () => {
    const clock = new ManualClock();
    const sse = new SseStream({ clock, keepAliveMs: 60_000 });
    let ended = 0;
    const res = whenBodyDone(new Response(sse.readable), () => ended++);
    const reader = res.body!.getReader();
    const text = async () => new TextDecoder().decode((await reader.read()).value);
    sse.event({ a: 1 });
    sse.event({ b: 2 });
    expect(await text()).toBe('data: {"a":1}\n\ndata: {"b":2}\n\n');
    const waiting = text(); // the reader asks before anything is written
    await settle();
    sse.event("[DONE]");
    expect(await waiting).toBe("data: [DONE]\n\n");
    sse.event({ late: 1 });
    sse.close();
    expect(ended).toBe(0); // one event still pending: the body is not over
    expect(await text()).toBe('data: {"late":1}\n\n');
    expect(await reader.read()).toEqual({ done: true, value: undefined });
    expect(ended).toBe(1);
  });
});

describe("Prometheus registry", () => {
  it("renders counters, gauges and cumulative histograms in the text format", () => {
    const r = new Registry();
    const c = r.register(new Counter("x_total", "Things.\nCounted."));
    const gauge = r.register(new Gauge("y", "A level."));
    const h = r.register(new Histogram("z_seconds", "Times.", [0.1, 1]));
    c.inc({ route: 'a"b\\c' });
    c.inc({ route: 'a"b\\c' }, 2);
    gauge.collect = () => 7;
    h.observe(0.05);
    h.observe(0.5);
    h.observe(5);
    expect(r.render()).toBe(
      [
        "# HELP x_total Things.\\nCounted.",
        "# TYPE x_total counter",
        'x_total{route="a\\"b\\\\c"} 3',
        "# HELP y A level.",
        "# TYPE y gauge",
        "y 7",
        "# HELP z_seconds Times.",
        "# TYPE z_seconds histogram",
        'z_seconds_bucket{le="0.1"} 1',
        'z_seconds_bucket{le="1"} 2',
        'z_seconds_bucket{le="+Inf"} 3',
        "z_seconds_sum 5.55",
        "z_seconds_count 3",
        "",
      ].join("\n"),
    );
  });

  it("keeps one series per label set whatever the labels' order, and never merges two different sets", () => {
    const c = new Counter("x_total", "Things.");
    c.inc({ route: "/a", status: "200" });
    c.inc({ status: "200", route: "/a" });
    // sets that a plain join of names and values would confuse
    c.inc({ route: "/a5:status", status: "" });
    c.inc({ route: "/a", status: "2", x: "00" });
    expect(c.value({ route: "/a", status: "200" })).toBe(2);
    expect(c.value({ route: "/a5:status", status: "" })).toBe(1);
    expect(c.value({ x: "00", status: "2", route: "/a" })).toBe(1);
    expect(c.render().split("\n").filter((l) => l.startsWith("x_total{"))).toHaveLength(3);
  });
});

describe("whenBodyDone", () => {
  it("fires once when the body is read to the end", async () => {
    let n = 0;
    const res = whenBodyDone(new Response("hello"), () => n++);
    expect(n).toBe(0);
    expect(await res.text()).toBe("hello");
    expect(n).toBe(1);
  });

  it("hands back the same Response for a body that reports its own end (the SSE stream), and fires on cancel", async () => {
    let n = 0;
    const sse = new SseStream({ clock: new ManualClock(), keepAliveMs: 60_000 });
    const original = new Response(sse.readable);
    const res = whenBodyDone(original, () => n++);
    expect(res).toBe(original); // no wrapping stream, no copied Response
    await res.body!.cancel();
    expect(n).toBe(1);
    expect(sse.isClosed).toBe(true);
  });

  it("takes a self-reporting stream's registration out when it uses it (a finished stream must not hold its request)", async () => {
    const sse = new SseStream({ clock: new ManualClock(), keepAliveMs: 60_000 });
    const first = new Response(sse.readable);
    expect(whenBodyDone(first, () => {})).toBe(first);
    // registered once, used once: the same stream again is watched like any other body
    const again = new Response(sse.readable);
    expect(whenBodyDone(again, () => {})).not.toBe(again);
  });

  it("fires at once for a body marked in memory, and hands back the same Response with its body unread", async () => {
    let n = 0;
    const original = bodyInMemory(new Response("whole"));
    const res = whenBodyDone(original, () => n++);
    expect(n).toBe(1);
    expect(res).toBe(original);
    expect(res.bodyUsed).toBe(false);
    expect(await res.text()).toBe("whole");
    expect(n).toBe(1);
  });

  it("fires when the reader cancels, and at once without a body", async () => {
    let n = 0;
    const res = whenBodyDone(new Response(new ReadableStream({ pull() {} })), () => n++);
    await res.body!.cancel();
    expect(n).toBe(1);
    whenBodyDone(new Response(null, { status: 204 }), () => n++);
    expect(n).toBe(2);
  });
});

describe("listen address", () => {
  it("binds loopback when no key is configured and refuses anything else", () => {
    expect(listenHostname(true)).toBe("127.0.0.1");
    expect(listenHostname(true, "::1")).toBe("::1");
    expect(() => listenHostname(true, "0.0.0.0")).toThrow(/no API key is configured/);
    expect(listenHostname(false)).toBe("0.0.0.0");
    expect(listenHostname(false, "10.0.0.2")).toBe("10.0.0.2");
  });
});
