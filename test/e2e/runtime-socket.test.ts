// The runtime process over its real socket: hello, streamed generation, batching, aborts, refusals,
// SIGTERM drain, and a gateway-side link that survives a runtime restart.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GenerateEvent, RuntimeError } from "../../functions/sdk/binding.ts";
import { RuntimeClient } from "../../edge/runtime-client/client.ts";
import { RuntimeLink } from "../../edge/runtime-client/link.ts";
import { generate } from "../helpers/generate.ts";
import { resolveKvCacheDtype } from "../../runtime/model/kv-cache.ts";
import { fixtureDir } from "../helpers/fixtures.ts";
import { backend, fixtureModel } from "../helpers/engine.ts";
import { type Started, startGust, tempSocket } from "../helpers/processes.ts";

const MODEL = "tiny-mistral3-fp8";
const socket = tempSocket("runtime");
let runtime: Started;
let client: RuntimeClient;

beforeAll(async () => {
  runtime = await startGust([
    "runtime",
    "--model",
    fixtureDir(MODEL),
    "--socket",
    socket,
    "--num-blocks",
    "64",
    "--max-num-seqs",
    "16",
  ], /serving/);
  client = await RuntimeClient.connect(socket);
});
afterAll(async () => {
  client?.close();
  await runtime?.stop();
});

async function collect(events: AsyncIterable<GenerateEvent>) {
  const ids: number[][] = [];
  const finish: (string | null)[] = [];
  let usage;
  for await (const e of events) {
    (ids[e.index] ??= []).push(...e.tokens.map((t) => t.token));
    if (e.finishReason) {
      finish[e.index] = e.finishReason;
      usage = e.usage;
    }
  }
  return { ids, finish, usage };
}

// the runtime's cache is --kv-cache-dtype auto (bf16), so the oracle's is too: equal tokens, not just close ones
const alone = (p: number[], n: number) =>
  generate(backend, fixtureModel(MODEL).model, p, {
    maxTokens: n,
    temperature: 0,
    ignoreEos: true,
    kvDtype: resolveKvCacheDtype("auto"),
  }).ids;
const promptOf = (salt: number) => Array.from({ length: 7 + salt }, (_, i) => 40 + ((i * 53 + salt * 11) % 400));

describe("runtime over its socket", () => {
  it("says hello with the model, limits and a working tokenizer", () => {
    expect(client.info.id).toBe(MODEL);
    expect(client.info.contextLength).toBe(256);
    expect(client.info.limits.numBlocks).toBe(64);
    expect(client.info.limits.heartbeatMs).toBe(0); // a CPU runtime asks gateways not to watch its silences
    expect(client.info.tokenizer.controlId("[THINK]")).toBe(34);
    expect(client.info.tokenizer.decode(client.info.tokenizer.encode("hello world"))).toBe("hello world");
    // the image layout's ids, so a gateway's routing keys image blocks as this runtime's prefix cache does
    expect(client.info.hasVision).toBe(true);
    expect(client.hello.image?.tokenIds).toEqual({ img: 10, imgBreak: 12, imgEnd: 13 });
  });

  it("streams greedy tokens equal to a local run, and 8 concurrent requests each equal their lone run", async () => {
    const prompts = Array.from({ length: 8 }, (_, i) => promptOf(i));
    const results = await Promise.all(
      prompts.map((p) =>
        collect(client.generate({ promptIds: p, maxTokens: 10, ignoreEos: true, sampling: { temperature: 0 } }))
      ),
    );
    results.forEach((r, i) => {
      expect(r.ids[0]).toEqual(alone(prompts[i], 10));
      expect(r.finish[0]).toBe("length");
    });
    const stats = await client.stats();
    expect(stats.kvBlocksUsed).toBe(0);
    expect(stats.steps).toBeGreaterThan(0);
  });

  it("an abort through the AbortSignal ends the sequence and frees its blocks", async () => {
    const controller = new AbortController();
    const events = client.generate({
      promptIds: promptOf(3),
      maxTokens: 200,
      ignoreEos: true,
      sampling: { temperature: 0 },
      signal: controller.signal,
    });
    let seen = 0, finish: string | null = null;
    for await (const e of events) {
      seen += e.tokens.length;
      if (seen >= 3 && !controller.signal.aborted) controller.abort();
      if (e.finishReason) finish = e.finishReason;
    }
    expect(finish).toBe("abort");
    expect(seen).toBeLessThan(200);
    expect((await client.stats()).kvBlocksUsed).toBe(0);
  });

  it("refusals come back as typed errors and leave the connection usable", async () => {
    await expect(collect(client.generate({ promptIds: [1, 9999], maxTokens: 2 }))).rejects.toThrow(
      /outside the vocabulary \[0, 512\)/,
    );
    await expect(collect(client.generate({ promptIds: [1, 2], maxTokens: 2, sampling: { topP: 2 } }))).rejects
      .toMatchObject({ code: "invalid_request" });
    const tooLong = collect(client.generate({ promptIds: Array(250).fill(5), maxTokens: 20 }));
    await expect(tooLong).rejects.toMatchObject({ code: "context_overflow", status: 400 });
    const ok = await collect(
      client.generate({ promptIds: promptOf(1), maxTokens: 3, ignoreEos: true, sampling: { temperature: 0 } }),
    );
    expect(ok.ids[0]).toHaveLength(3);
  });

  it("responseFormat json_object answers with JSON objects, and an unknown format is refused", async () => {
    const tok = client.info.tokenizer;
    const bias = { [tok.encode('"')[0]]: 4, [tok.encode("}")[0]]: 4 };
    const r = await collect(
      client.generate({
        promptIds: promptOf(4),
        maxTokens: 150,
        n: 4,
        responseFormat: { type: "json_object" },
        reasoningBudget: 0,
        sampling: { temperature: 1, seed: 9, logitBias: bias },
      }),
    );
    expect(r.finish).toEqual(["stop", "stop", "stop", "stop"]);
    for (const ids of r.ids) expect(JSON.parse(tok.decode(ids))).toBeTypeOf("object");
    // a JSON Schema: the answers follow it to the letter (keys in order, an enum, a boolean)
    const schema = {
      type: "object",
      properties: { mood: { enum: ["up", "down"] }, ok: { type: "boolean" }, n: { type: "integer" } },
      required: ["mood", "ok", "n"],
    };
    const s = await collect(
      client.generate({
        promptIds: promptOf(5),
        maxTokens: 150,
        n: 3,
        responseFormat: { type: "json_schema", schema },
        reasoningBudget: 0,
        sampling: { temperature: 1, seed: 2 },
      }),
    );
    for (let i = 0; i < 3; i++) {
      const text = tok.decode(s.ids[i]);
      if (s.finish[i] === "length") continue; // an integer may run long; what was written is still checked below
      const v = JSON.parse(text);
      expect(Object.keys(v)).toEqual(["mood", "ok", "n"]);
      expect(["up", "down"]).toContain(v.mood);
      expect(typeof v.ok).toBe("boolean");
      expect(Number.isInteger(v.n)).toBe(true);
    }
    expect(s.finish).toContain("stop");
    const badSchema = collect(
      client.generate({
        promptIds: promptOf(4),
        maxTokens: 5,
        responseFormat: { type: "json_schema", schema: { type: "thing" } },
      }),
    );
    await expect(badSchema).rejects.toMatchObject({
      code: "invalid_request",
      message: expect.stringMatching(/responseFormat.schema: \$.type: "thing"/),
    });
    const bad = collect(
      client.generate({ promptIds: promptOf(4), maxTokens: 5, responseFormat: { type: "yaml" } as never }),
    );
    await expect(bad).rejects.toMatchObject({
      code: "invalid_request",
      message: expect.stringMatching(/responseFormat must be \{"type": "json_object"\}, \{"type": "json_schema"/),
    });
  });

  it("samples n > 1 and reports usage with cached prompt blocks", async () => {
    const r = await collect(
      client.generate({
        promptIds: promptOf(12),
        maxTokens: 4,
        n: 3,
        ignoreEos: true,
        sampling: { temperature: 1, seed: 5 },
      }),
    );
    expect(r.ids).toHaveLength(3);
    expect(r.finish).toEqual(["length", "length", "length"]);
  });
});

describe("runtime with a small KV pool", () => {
  it("serves the context the pool can hold and says so", async () => {
    const sock = tempSocket("small");
    const rt = await startGust(
      ["runtime", "--model", fixtureDir(MODEL), "--socket", sock, "--num-blocks", "8"],
      /serving/,
    );
    const c = await RuntimeClient.connect(sock);
    try {
      expect(c.info.contextLength).toBe(128); // 8 blocks × 16 tokens < the model's 256
      await new Promise((r) => setTimeout(r, 50));
      expect(rt.output()).toMatch(
        /KV pool holds 128 tokens, less than the model's context of 256; serving a context of 128/,
      );
      const r = await collect(c.generate({ promptIds: promptOf(3), ignoreEos: true, sampling: { temperature: 0 } }));
      expect(r.usage?.total_tokens).toBe(128); // no max_tokens: generates up to the served context
    } finally {
      c.close();
      await rt.stop();
    }
  });
});

describe("runtime with an EAGLE draft", () => {
  it("speculates with the same greedy tokens and reports totals in stats", async () => {
    const sock = tempSocket("spec");
    const rt = await startGust([
      "runtime",
      "--model",
      fixtureDir(MODEL),
      "--draft",
      fixtureDir("tiny-mistral3-eagle"),
      "--socket",
      sock,
      "--num-blocks",
      "64",
      "--spec-min-tokens-per-step",
      "0",
    ], /EAGLE k=3/);
    const c = await RuntimeClient.connect(sock);
    try {
      const r = await collect(
        c.generate({ promptIds: promptOf(6), maxTokens: 12, ignoreEos: true, sampling: { temperature: 0 } }),
      );
      expect(r.ids[0]).toEqual(alone(promptOf(6), 12));
      expect(r.usage?.spec?.drafted).toBeGreaterThan(0);
      const stats = await c.stats();
      expect(stats.spec.drafted).toBe(r.usage!.spec!.drafted);
      expect(stats.spec.targetSteps).toBeGreaterThan(0);
      const off = await collect(
        c.generate({
          promptIds: promptOf(7),
          maxTokens: 5,
          ignoreEos: true,
          speculativeTokens: 0,
          sampling: { temperature: 0 },
        }),
      );
      expect(off.usage?.spec?.drafted).toBe(0);
      // a JSON-constrained answer is not speculated (drafts are checked against the unconstrained distribution)
      const json = await collect(
        c.generate({
          promptIds: promptOf(7),
          maxTokens: 5,
          responseFormat: { type: "json_object" },
          reasoningBudget: 0,
          sampling: { temperature: 0 },
        }),
      );
      expect(json.usage?.spec?.drafted).toBe(0);
      expect(c.info.tokenizer.decode(json.ids[0]).trimStart().startsWith("{")).toBe(true);
    } finally {
      c.close();
      await rt.stop();
    }
  });
});

describe("runtime restarts and drains", () => {
  it("a link fails fast while the runtime is down and recovers when it comes back", async () => {
    const sock = tempSocket("restart");
    let rt = await startGust(
      ["runtime", "--model", fixtureDir(MODEL), "--socket", sock, "--num-blocks", "32"],
      /serving/,
    );
    const link = new RuntimeLink(sock, { retryMs: 50, maxRetryMs: 100 });
    await link.start();
    expect(link.binding).not.toBeNull();
    expect(await rt.stop("SIGKILL")).toBeNull();
    for (let i = 0; i < 200 && link.binding; i++) await new Promise((r) => setTimeout(r, 25));
    expect(link.binding).toBeNull();
    expect(link.lastError).toMatch(/went away|Cannot reach/);
    rt = await startGust(["runtime", "--model", fixtureDir(MODEL), "--socket", sock, "--num-blocks", "32"], /serving/);
    for (let i = 0; i < 100 && !link.binding; i++) await new Promise((r) => setTimeout(r, 50));
    expect(link.binding).not.toBeNull();
    const r = await collect(
      link.binding!.generate({ promptIds: promptOf(2), maxTokens: 3, ignoreEos: true, sampling: { temperature: 0 } }),
    );
    expect(r.ids[0]).toEqual(alone(promptOf(2), 3));
    link.stop();
    expect(await rt.stop("SIGTERM")).toBe(0);
  });

  it("SIGTERM lets an in-flight request finish, refuses new ones, and exits 0", async () => {
    const sock = tempSocket("drain");
    const rt = await startGust([
      "runtime",
      "--model",
      fixtureDir(MODEL),
      "--socket",
      sock,
      "--num-blocks",
      "32",
      "--grace-ms",
      "20000",
    ], /serving/);
    const c = await RuntimeClient.connect(sock);
    // 8 samples of 230 tokens keep the engine busy well past the signal
    const running = collect(
      c.generate({ promptIds: promptOf(4), maxTokens: 230, n: 8, ignoreEos: true, sampling: { temperature: 0 } }),
    );
    await new Promise((r) => setTimeout(r, 10));
    const exit = rt.stop("SIGTERM");
    for (let i = 0; i < 400 && !/draining/.test(rt.output()); i++) await new Promise((r) => setTimeout(r, 5));
    const refused = (async () => collect(c.generate({ promptIds: promptOf(5), maxTokens: 3 })))().catch((
      e: RuntimeError,
    ) => e);
    const finished = await running;
    expect(finished.finish).toEqual(Array(8).fill("length"));
    expect(finished.ids[0]).toEqual(alone(promptOf(4), 230));
    const err = await refused;
    expect(err).toBeInstanceOf(RuntimeError);
    expect((err as RuntimeError).code).toBe("draining");
    expect(await exit).toBe(0);
  });
});
