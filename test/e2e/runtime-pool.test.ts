// One gateway over three gust-mini runtimes (real processes, real sockets, HTTP): prefix-aware routing against
// random routing on the same multi-turn workload, SIGKILL of a runtime under load, a SIGTERM drain, and a runtime of
// another model refused at hello. Small max_tokens keep it cheap on two shared cores.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultModelDir } from "../../runtime/config/default-model.ts";
import { fixtureDir } from "../helpers/fixtures.ts";
import { scrapeRuntimeMetric } from "../helpers/metrics.ts";
import { type Started, startGust, tempSocket } from "../helpers/processes.ts";
import { until } from "../helpers/until.ts";

const runtimeArgs = (socket: string, model = defaultModelDir) => [
  "runtime",
  "--model",
  model,
  "--socket",
  socket,
  "--num-blocks",
  "384",
  "--max-num-seqs",
  "16",
  "--threads",
  "1",
];
const sockets = [1, 2, 3].map((i) => tempSocket(`pool-${i}`));
const MODEL = "gust-mini";

const urlOf = (gateway: Started) => /gateway on (http:\/\/[^\s]+)/.exec(gateway.output())![1];

interface Answer {
  text: string;
  promptTokens: number;
  cachedTokens: number;
}

async function chat(base: string, messages: { role: string; content: string }[], maxTokens = 1): Promise<Answer> {
  const res = await fetch(`${base}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: MODEL, messages, max_tokens: maxTokens, temperature: 0 }),
  });
  const body = await res.json() as {
    choices: { message: { content: string } }[];
    usage: { prompt_tokens: number; prompt_tokens_details?: { cached_tokens?: number } };
    error?: { message: string };
  };
  if (!res.ok) throw new Error(`${res.status}: ${body.error?.message}`);
  return {
    text: body.choices[0].message.content,
    promptTokens: body.usage.prompt_tokens,
    cachedTokens: body.usage.prompt_tokens_details?.cached_tokens ?? 0,
  };
}

/** A streamed answer of `tokens` tokens: its text, or the error the stream ended with. */
async function stream(base: string, content: string, tokens: number): Promise<{ ok: boolean; error?: string }> {
  const res = await fetch(`${base}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      model: MODEL,
      messages: [{ role: "user", content }],
      max_tokens: tokens,
      ignore_eos: true,
      temperature: 0,
      stream: true,
    }),
  });
  const text = await res.text();
  if (!res.ok) return { ok: false, error: text };
  const error = /"error":\s*\{[^}]*"message":\s*"([^"]*)"/.exec(text)?.[1];
  return error ? { ok: false, error } : { ok: text.includes("[DONE]") && text.includes('"finish_reason":"length"') };
}

/** 200 conversations of 3 turns, each turn resending the history; returns the share of prompt tokens cached. */
async function conversations(base: string, salt: string, count = 200, turns = 3, concurrency = 12): Promise<number> {
  let prompt = 0, cached = 0, next = 0;
  const one = async (c: number) => {
    const history: { role: string; content: string }[] = [];
    for (let t = 1; t <= turns; t++) {
      history.push({ role: "user", content: `Session ${salt}${c}. Turn ${t}: please repeat the word ${t * 7 + c}.` });
      const a = await chat(base, history);
      prompt += a.promptTokens;
      cached += a.cachedTokens;
      history.push({ role: "assistant", content: a.text.trim() === "" ? "ok" : a.text }); // EOS first: empty
    }
  };
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) await one(next++);
  }));
  return cached / prompt;
}

describe("a gateway over three gust-mini runtimes", () => {
  const runtimes: Started[] = [];
  const gateways: Started[] = [];
  let base = "", randomBase = "";
  const pool = sockets.flatMap((s) => ["--runtime", s]);
  const requestsTo = async (i: number) =>
    (await scrapeRuntimeMetric(base, "gust_pool_requests_total", sockets[i])) || 0;

  beforeAll(async () => {
    runtimes.push(...await Promise.all(sockets.map((s) => startGust(runtimeArgs(s), /serving/, 120_000))));
    gateways.push(await startGust(["serve", ...pool, "--port", "0"], /gateway on/));
    gateways.push(await startGust(["serve", ...pool, "--port", "0", "--routing", "random"], /gateway on/));
    [base, randomBase] = gateways.map(urlOf);
    await until(async () => (await scrapeRuntimeMetric(base, "gust_pool_runtime_up", sockets[2])) === 1, "pool");
  }, 120_000);
  afterAll(async () => {
    for (const g of gateways) await g.stop();
    for (const r of runtimes) await r.stop("SIGKILL");
  });

  it("routes a conversation's turns by prefix: a higher prefix-cache hit rate than random routing", async () => {
    const random = await conversations(randomBase, "r");
    const affinity = await conversations(base, "a");
    console.log(
      `prefix-cache hit rate over 200 conversations x 3 turns: prefix-aware ${(affinity * 100).toFixed(1)}%, ` +
        `random ${(random * 100).toFixed(1)}%`,
    );
    expect(affinity).toBeGreaterThan(random);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    for (const s of sockets) {
      expect(metrics).toContain(`gust_pool_routing_decisions_total{runtime="${s}",reason="prefix"}`);
      expect(metrics).toMatch(new RegExp(`vllm:num_requests_running\\{runtime="${s}"\\} \\d+`));
      expect(metrics).toMatch(new RegExp(`vllm:gpu_cache_usage_perc\\{runtime="${s}"\\} [\\d.]+`));
      expect(await scrapeRuntimeMetric(base, "gust_pool_prefix_hit_tokens_total", s)).toBeGreaterThan(0);
    }
  }, 300_000);

  it("SIGKILL under load fails only that runtime's running streams; later requests succeed; it rejoins", async () => {
    const load = Array.from({ length: 12 }, (_, i) => stream(base, `${i} kill test: count slowly.`, 48));
    await until(async () => (await requestsTo(0)) > 0, "a stream on runtime 1"); // counters are cumulative
    await new Promise((r) => setTimeout(r, 300));
    await runtimes[0].stop("SIGKILL");
    const results = await Promise.all(load);
    const failed = results.filter((r) => !r.ok);
    for (const f of failed) expect(f.error).toContain(sockets[0]); // only streams of the killed runtime fail
    expect(results.filter((r) => r.ok).length).toBeGreaterThan(0);
    // later requests all succeed on the other two
    for (let i = 0; i < 6; i++) expect((await stream(base, `${i} after the kill.`, 4)).ok).toBe(true);
    runtimes[0] = await startGust(runtimeArgs(sockets[0]), /serving/, 120_000);
    await until(
      async () => (await scrapeRuntimeMetric(base, "gust_pool_runtime_up", sockets[0])) === 1,
      "rejoin",
    );
    const before = await requestsTo(0);
    for (let i = 0; i < 9; i++) expect((await stream(base, `${i} rejoined.`, 2)).ok).toBe(true);
    expect(await requestsTo(0)).toBeGreaterThan(before);
  }, 180_000);

  it(
    "a SIGTERM-drained runtime completes its running streams; requests sent during the drain succeed elsewhere",
    async () => {
      const load = Array.from({ length: 9 }, (_, i) => stream(base, `${i} drain test: count slowly.`, 32));
      await until(async () => (await requestsTo(1)) > 0, "a stream on runtime 2");
      await new Promise((r) => setTimeout(r, 200));
      const exited = runtimes[1].stop("SIGTERM");
      const during = Array.from({ length: 6 }, (_, i) => stream(base, `${i} during the drain.`, 4));
      const results = await Promise.all([...load, ...during]);
      expect(results.filter((r) => !r.ok)).toEqual([]);
      expect(await exited).toBe(0);
      runtimes[1] = await startGust(runtimeArgs(sockets[1]), /serving/, 120_000);
    },
    120_000,
  );

  it("refuses a runtime of another model at hello, naming the difference", async () => {
    const other = tempSocket("pool-other");
    const odd = await startGust(runtimeArgs(other, fixtureDir("tiny-mistral3")), /serving/, 60_000);
    const gw = await startGust(
      ["serve", "--runtime", sockets[2], "--runtime", other, "--port", "0"],
      /gateway on/,
    );
    const gwBase = urlOf(gw);
    try {
      await until(() => /refused the runtime at .*: its model id is/.test(gw.output()), "the refusal").catch((e) => {
        throw new Error(`${e.message}; the gateway said:\n${gw.output()}`);
      });
      expect(gw.output()).toMatch(/every runtime behind one gateway must serve the same model/);
      const up = await Promise.all(
        [sockets[2], other].map((s) => scrapeRuntimeMetric(gwBase, "gust_pool_runtime_up", s)),
      );
      expect(up.sort()).toEqual([0, 1]);
    } finally {
      await gw.stop("SIGKILL");
      await odd.stop("SIGKILL");
    }
  }, 120_000);
});
