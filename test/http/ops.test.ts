import { describe, expect, it } from "vitest";
import { ids } from "../helpers/fake-binding.ts";
import { testGateway, user } from "../helpers/gateway.ts";
import { settle } from "../helpers/manual-clock.ts";

describe("/health, /ready, models, and a missing runtime", () => {
  it("/health is 200 with or without a runtime; /ready follows the runtime", async () => {
    const g = testGateway();
    expect(await (await g.app.request("/health")).json()).toEqual({ status: "ok" });
    expect(await (await g.app.request("/ready")).json()).toEqual({
      status: "ready",
      model: "tiny-mistral3",
      context_length: 4096,
    });
    g.connected.value = false;
    expect((await g.app.request("/health")).status).toBe(200);
    const ready = await g.app.request("/ready");
    expect(ready.status).toBe(503);
    expect((await ready.json()).error.code).toBe("runtime_unavailable");
  });

  it("model routes answer 503 with a clear message while the runtime is away, and recover without a restart", async () => {
    const g = testGateway();
    g.connected.value = false;
    for (
      const [path, init] of [["/v1/chat/completions", { method: "POST", body: JSON.stringify(user("x")) }], [
        "/mistral/v1/chat/completions",
        { method: "POST", body: JSON.stringify(user("x")) },
      ], ["/v1/models", {}]] as const
    ) {
      const res = await g.app.request(path, init);
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toBe("5");
      const err = (await res.json()).error;
      expect(err).toMatchObject({ type: "service_unavailable_error", code: "runtime_unavailable" });
      expect(err.message).toContain("runtime is not connected");
    }
    expect(g.app.limiter.running).toBe(0);
    g.connected.value = true;
    expect((await g.post("/v1/chat/completions", user("x"))).status).toBe(200);
  });

  it("GET /v1/models lists the model and its aliases", async () => {
    const g = testGateway({ modelAliases: ["mm"] });
    const body = await (await g.app.request("/v1/models")).json();
    expect(body.object).toBe("list");
    expect(body.data.map((m: any) => m.id)).toEqual(["tiny-mistral3", "mm"]);
    expect(body.data[0]).toMatchObject({
      object: "model",
      owned_by: "gust",
      max_model_len: 4096,
      created: expect.any(Number),
    });
  });

  it("GET /mistral/v1/models has Mistral's card fields", async () => {
    const g = testGateway();
    const body = await (await g.app.request("/mistral/v1/models")).json();
    expect(body.data[0]).toMatchObject({
      id: "tiny-mistral3",
      type: "base",
      max_context_length: 4096,
      capabilities: { completion_chat: true, function_calling: true, reasoning: true, vision: false },
    });
  });

  it("answers 404 with an OpenAI body for unknown routes and methods", async () => {
    const g = testGateway();
    for (const [path, method] of [["/v2/nothing", "GET"], ["/v1/chat/completions", "GET"]]) {
      const res = await g.app.request(path, { method });
      expect(res.status).toBe(404);
      expect((await res.json()).error).toMatchObject({ type: "not_found_error", code: "not_found" });
    }
  });
});

describe("whole answers are over when their handler is (no stream watches their bodies)", () => {
  it("counts JSON answers, errors and scrapes, and frees their slots, before anyone reads their bodies", async () => {
    const g = testGateway();
    const unread = [
      await g.post("/v1/chat/completions", user("x")), // a non-streamed completion
      await g.post("/v1/chat/completions", "{bad json"), // an error body
      await g.app.request("/health"),
      await g.app.request("/v1/models"),
      await g.app.request("/metrics"),
      await g.app.request("/v2/nothing"),
    ];
    expect(unread.map((r) => r.status)).toEqual([200, 400, 200, 200, 200, 404]);
    const text = await (await g.app.request("/metrics?name[]=gust_http_requests_total&name[]=gust_requests_running"))
      .text();
    for (
      const line of [
        'gust_http_requests_total{route="/v1/chat/completions",method="POST",status="200"} 1',
        'gust_http_requests_total{route="/v1/chat/completions",method="POST",status="400"} 1',
        'gust_http_requests_total{route="/health",method="GET",status="200"} 1',
        'gust_http_requests_total{route="/v1/models",method="GET",status="200"} 1',
        'gust_http_requests_total{route="/metrics",method="GET",status="200"} 1',
        'gust_http_requests_total{route="other",method="GET",status="404"} 1',
        "gust_requests_running 0",
      ]
    ) expect(text).toContain(line);
    // the bodies are intact, only not watched
    expect((await unread[0].json()).choices[0].message.role).toBe("assistant");
    expect((await unread[2].json()).status).toBe("ok");
  });
});

describe("/metrics", () => {
  it("is Prometheus text with requests, latency, tokens and runtime gauges", async () => {
    const g = testGateway();
    g.fake.script = () => ({ choices: [{ ids: ids("abc", "</s>") }], manual: true });
    const pending = g.post("/v1/chat/completions", user("x"));
    await settle();
    await g.clock.advance(250); // prefill: 250 ms to the first token
    g.fake.lastCall.release(1);
    await settle();
    await g.clock.advance(40);
    g.fake.lastCall.release(100);
    await (await pending).text();
    await (await g.post("/v1/chat/completions", "{bad json")).text(); // counted once its body is sent
    const res = await g.app.request("/metrics");
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const text = await res.text();
    expect(text).toContain('gust_http_requests_total{route="/v1/chat/completions",method="POST",status="200"} 1');
    expect(text).toContain('gust_http_requests_total{route="/v1/chat/completions",method="POST",status="400"} 1');
    expect(text).toContain("# TYPE gust_time_to_first_token_seconds histogram");
    expect(text).toContain('gust_time_to_first_token_seconds_bucket{route="/v1/chat/completions",le="0.25"} 1');
    expect(text).toContain('gust_time_to_first_token_seconds_bucket{route="/v1/chat/completions",le="0.1"} 0');
    // the runtime's share: the whole prefill, since the fake gateway sent the generation at once
    expect(text).toContain('gust_runtime_first_token_seconds_bucket{route="/v1/chat/completions",le="0.25"} 1');
    expect(text).toContain('gust_runtime_first_token_seconds_bucket{route="/v1/chat/completions",le="0.1"} 0');
    expect(text).toContain('gust_time_per_output_token_seconds_count{route="/v1/chat/completions"} 1');
    expect(text).toContain(`gust_generation_tokens_total ${ids("abc", "</s>").length}`);
    expect(text).toMatch(/gust_prompt_tokens_total \d+/);
    for (
      const name of [
        "gust_kv_blocks_used 0",
        "gust_kv_blocks_total 256",
        "gust_runtime_up 1",
        "gust_queue_depth 0",
        "gust_requests_running 0",
        "gust_runtime_requests_waiting 0",
      ]
    ) {
      expect(text).toContain(`${name}\n`);
    }
    // every sample line is `name{labels} value`
    for (const line of text.split("\n").filter((l) => l && !l.startsWith("#"))) {
      expect(line).toMatch(/^[a-z_]+(\{[^}]*\})? [-+0-9.eInfNa]+$/);
    }
  });

  it("reports the runtime's speculative-decoding totals", async () => {
    const g = testGateway();
    g.fake.statsOverride = { spec: { drafted: 30, accepted: 12, targetSteps: 10, emitted: 22 } };
    const text = await (await g.app.request("/metrics")).text();
    expect(text).toContain("gust_spec_drafted_tokens_total 30\n");
    expect(text).toContain("gust_spec_accepted_tokens_total 12\n");
    expect(text).toContain("gust_spec_tokens_per_target_step 2.2\n");
  });

  it("reads KV blocks from the runtime while a request runs, and 0 after it is aborted", async () => {
    const g = testGateway();
    g.fake.script = () => ({ choices: [{ ids: ids("abc", "</s>") }], manual: true });
    const ac = new AbortController();
    const pending = g.post("/v1/chat/completions", { ...user("x"), stream: true }, { signal: ac.signal });
    await settle();
    g.fake.lastCall.release(1);
    await pending;
    expect(await (await g.app.request("/metrics")).text()).toContain("gust_kv_blocks_used 3\n");
    ac.abort();
    await settle();
    expect(await (await g.app.request("/metrics")).text()).toContain("gust_kv_blocks_used 0\n");
  });

  it("shows gust_runtime_up 0 when the runtime is away or its stats fail, and still answers", async () => {
    const g = testGateway();
    g.fake.stats = async () => {
      throw new Error("socket closed");
    };
    expect(await (await g.app.request("/metrics")).text()).toContain("gust_runtime_up 0\n");
    g.connected.value = false;
    const text = await (await g.app.request("/metrics")).text();
    expect(text).toContain("gust_runtime_up 0\n");
    expect(text).not.toContain("gust_kv_blocks_used 0");
  });

  it("renders only the families named by name[] (a histogram by its sample names too), asking the runtime only for its gauges", async () => {
    const g = testGateway();
    await (await g.post("/v1/chat/completions", user("x"))).text();
    const before = g.fake.statsCalls;
    const text = await (await g.app.request(
      "/metrics?name[]=gust_runtime_first_token_seconds_sum&name[]=gust_prompt_tokens_total",
    )).text();
    expect(text).toContain("# TYPE gust_runtime_first_token_seconds histogram\n");
    expect(text).toContain('gust_runtime_first_token_seconds_count{route="/v1/chat/completions"} 1\n');
    expect(text).toMatch(/^gust_prompt_tokens_total \d+$/m);
    expect(text).not.toContain("gust_http_requests_total");
    expect(text).not.toContain("gust_kv_blocks_used");
    expect(g.fake.statsCalls).toBe(before);
    const kv = await (await g.app.request("/metrics?name[]=gust_kv_blocks_used")).text();
    expect(kv).toContain("gust_kv_blocks_used 0\n");
    expect(kv).not.toContain("gust_runtime_up");
    expect(g.fake.statsCalls).toBe(before + 1);
    expect(await (await g.app.request("/metrics?name[]=no_such_metric")).text()).toBe("");
  });

  it("does not hang on a runtime that never answers stats", async () => {
    const g = testGateway();
    g.fake.stats = () => new Promise(() => {});
    const pending = g.app.request("/metrics");
    await settle();
    await g.clock.advance(2000);
    expect(await (await pending).text()).toContain("gust_runtime_up 0\n");
  });
});
