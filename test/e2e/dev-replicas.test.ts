// `gust dev --replicas 2` as a developer uses it, through the openai client: two supervised runtimes behind the dev
// gateway's pool; both serve, a SIGKILLed one is restarted by dev's supervisor while the other keeps serving, and
// the restarted one takes requests again. Bad --replicas values are usage errors that name the flag.
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, describe, expect, it } from "vitest";
import { scrapeRuntimeMetric } from "../helpers/metrics.ts";
import { bunBin, freePort, type Started, startGust } from "../helpers/processes.ts";
import { repoRoot } from "../helpers/fixtures.ts";
import { until } from "../helpers/until.ts";
import { dataUrl, makeImage } from "../vision/helpers.ts";

let dev: Started | undefined;
let base = "";
afterAll(async () => {
  await dev?.stop("SIGINT");
});

/** `gust dev ARGS` that must fail before it starts anything: its exit status and stderr. */
function devFails(args: string[]): { status: number; stderr: string } {
  try {
    execFileSync(bunBin, [join(repoRoot, "runtime/cli/main.ts"), "dev", ...args], { stdio: "pipe", timeout: 30_000 });
    return { status: 0, stderr: "" };
  } catch (err) {
    const e = err as { status: number; stderr: Buffer };
    return { status: e.status, stderr: e.stderr.toString() };
  }
}

describe("gust dev --replicas", () => {
  it("refuses a bad count, and replicas with tensor parallelism, naming the flag", () => {
    const zero = devFails(["--replicas", "0"]);
    expect(zero.status).toBe(2);
    expect(zero.stderr).toContain('--replicas must be a whole number of runtimes from 1 to 16, got "0"');
    const withTp = devFails(["--replicas", "2", "--tensor-parallel", "2"]);
    expect(withTp.status).toBe(2);
    expect(withTp.stderr).toContain("--replicas 2 with --tensor-parallel 2 is not supported by gust dev");
  });

  it("serves from both runtimes; a SIGKILLed one comes back while the other keeps serving", async () => {
    const port = await freePort();
    const fns = mkdtempSync(join(tmpdir(), "gust-dev-replicas-"));
    dev = await startGust(["dev", "--replicas", "2", "--functions", fns, "--port", String(port)], /ready on/, 180_000);
    expect(dev.output()).toContain("2 runtimes");
    const sockets = [1, 2].map((i) => new RegExp(`\\[runtime ${i}\\] gust runtime: serving \\S+ on (?:unix:)?(\\S+)`))
      .map((re) => re.exec(dev!.output())![1]);
    expect(new Set(sockets).size).toBe(2);
    base = `http://127.0.0.1:${port}`;
    const requestsTo = async (i: number) =>
      (await scrapeRuntimeMetric(base, "gust_pool_requests_total", sockets[i])) || 0;
    const openai = new OpenAI({ baseURL: `${base}/v1`, apiKey: "unused", maxRetries: 0 });
    // distinct first words, so no prompt shares a first KV block with another and the router spreads them by load
    const ask = async (i: number) => {
      const r = await openai.chat.completions.create({
        model: "gust-mini",
        messages: [{ role: "user", content: `${i}${i} ${i}: say something about the number ${i}.` }],
        max_tokens: 3,
      });
      expect(r.choices[0].finish_reason).toMatch(/stop|length/);
      return r;
    };

    for (let i = 0; i < 6; i++) await ask(i);
    expect(await requestsTo(0)).toBeGreaterThan(0);
    expect(await requestsTo(1)).toBeGreaterThan(0);
    let finish: string | null = null;
    const stream = await openai.chat.completions.create({
      model: "gust-mini",
      messages: [{ role: "user", content: "Streamed through the pool." }],
      max_tokens: 4,
      stream: true,
    });
    for await (const chunk of stream) finish = chunk.choices[0]?.finish_reason ?? finish;
    expect(finish).toMatch(/stop|length/);

    const pid = Number(
      execFileSync("pgrep", ["-P", String(dev.proc.pid), "-f", `main.ts runtime .*--socket ${sockets[0]}`], {
        encoding: "utf8",
      }).trim().split("\n")[0],
    );
    expect(pid).toBeGreaterThan(0);
    const secondBefore = await requestsTo(1);
    process.kill(pid, "SIGKILL");
    // the other replica keeps serving at once: a request routed to the dead one before its first token moves over
    for (let i = 10; i < 14; i++) await ask(i);
    expect(await requestsTo(1)).toBeGreaterThanOrEqual(secondBefore + 4);

    await until(() => /the runtime 1 is back/.test(dev!.output()), "runtime 1's restart", 120_000, dev.output);
    expect(dev.output()).toMatch(/the runtime 1 exited \(SIGKILL\); restarting in \d+ ms/);
    await until(
      async () => (await scrapeRuntimeMetric(base, "gust_pool_runtime_up", sockets[0])) === 1,
      "runtime 1 rejoining the pool",
      30_000,
    );
    const firstBefore = await requestsTo(0);
    for (let i = 20; i < 40 && (await requestsTo(0)) === firstBefore; i++) await ask(i);
    expect(await requestsTo(0)).toBeGreaterThan(firstBefore);
  }, 360_000);

  it(
    "routes the same text with another image as a new prefix: image blocks are keyed as the runtimes key them",
    async () => {
      /** Routing decisions by reason "prefix", over both runtimes. */
      const prefixDecisions = async () =>
        (await (await fetch(`${base}/metrics`)).text()).split("\n")
          .filter((l) => l.startsWith("gust_pool_routing_decisions_total{") && l.includes('reason="prefix"'))
          .reduce((t, l) => t + Number(l.split(" ").pop()), 0);
      const openai = new OpenAI({ baseURL: `${base}/v1`, apiKey: "unused", maxRetries: 0 });
      // the image comes first, so the prompt's first KV block already holds image tokens
      const ask = async (seed: number) =>
        openai.chat.completions.create({
          model: "gust-mini",
          messages: [{
            role: "user",
            content: [
              { type: "image_url", image_url: { url: dataUrl(await makeImage(56, 56, "png", { seed })) } },
              { type: "text", text: "What shape is this?" },
            ],
          }],
          max_tokens: 2,
        });
      const before = await prefixDecisions();
      await ask(7);
      const again = await ask(7); // same pixels: its blocks are where the first went
      expect(await prefixDecisions()).toBe(before + 1);
      expect(again.usage?.prompt_tokens_details?.cached_tokens).toBeGreaterThan(0);
      await ask(8); // same ids, other pixels: no block of it is cached anywhere, so no prefix is claimed
      expect(await prefixDecisions()).toBe(before + 1);
    },
    60_000,
  );
});
