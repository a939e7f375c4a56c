// A tensor-parallel follower killed with SIGKILL during a stream (real processes, real client): the stream ends
// with an error, the runtime exits non-zero naming the rank, the gateway answers 503, and a restarted runtime
// serves again without a gateway restart.
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot } from "../helpers/fixtures.ts";
import { freePort, type Started, startGust, tempSocket } from "../helpers/processes.ts";

const MINI = join(repoRoot, "models", "gust-mini");
const started: Started[] = [];
afterAll(async () => {
  for (const s of started.reverse()) await s.stop("SIGINT");
});

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A response's status with its body read, so polling leaves no connection held by an unread body. */
async function statusOf(url: string): Promise<number> {
  const res = await fetch(url);
  await res.arrayBuffer();
  return res.status;
}

/** Pids of a process's children (the runtime's follower ranks). */
const childrenOf = (pid: number) =>
  spawnSync("pgrep", ["-P", String(pid)], { encoding: "utf8" }).stdout.split("\n").filter(Boolean).map(Number);

describe("tensor parallelism: a follower dies", () => {
  it(
    "SIGKILL on a follower mid-stream: the stream errors, the runtime exits naming rank 1, 503, then recovery",
    async () => {
      const socket = tempSocket("tp-kill"), port = await freePort();
      // a fixed pool: sized from free memory, each rank would allocate (and zero) gigabytes on a busy machine
      const runtimeArgs = ["runtime", "--model", MINI, "--socket", socket, "--tp", "2", "--threads", "1"];
      runtimeArgs.push("--num-blocks", "300");
      let runtime = await startGust(runtimeArgs, /serving/, 60_000);
      started.push(runtime);
      const stateDir = mkdtempSync(join(tmpdir(), "gust-tp-state-"));
      const gateway = await startGust(
        ["serve", "--runtime", socket, "--port", String(port), "--state-dir", stateDir],
        /gateway on/,
      );
      started.push(gateway);
      const base = `http://127.0.0.1:${port}`;
      await until(async () => (await statusOf(`${base}/ready`)) === 200, "the gateway to connect");

      const [follower] = childrenOf(runtime.proc.pid!);
      expect(follower).toBeGreaterThan(0);
      const res = await fetch(`${base}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          model: "gust-mini",
          messages: [{ role: "user", content: "Count." }],
          max_tokens: 4000,
          ignore_eos: true,
          stream: true,
        }),
        signal: AbortSignal.timeout(90_000), // covers the body too: a stuck stream fails here, with the outputs
      });
      expect(res.status).toBe(200);
      const reader = res.body!.getReader(), decoder = new TextDecoder();
      let body = "", killed = false;
      for (;;) {
        const { done, value } = await reader.read().catch((err) => {
          throw new Error(
            `${err} after ${body.length} bytes\nruntime: ${runtime.output()}\ngateway: ${gateway.output()}`,
          );
        });
        if (done) break;
        body += decoder.decode(value, { stream: true });
        if (!killed && /"delta":\{"content"/.test(body)) { // the stream is under way: kill now
          process.kill(follower, "SIGKILL");
          killed = true;
        }
      }
      expect(killed, body.slice(0, 2000)).toBe(true);
      expect(body).toMatch(/"error":\{[^}]*"message":"[^"]*tensor-parallel rank 1/);
      expect(body).not.toMatch(/"finish_reason":"length"/);
      const proc = runtime.proc; // it exits on its own: no signal from here
      const code = proc.exitCode ?? await new Promise<number | null>((r) => proc.once("exit", (c) => r(c)));
      expect(code).toBe(1);
      expect(runtime.output()).toMatch(/tensor-parallel rank 1 \(pid \d+\) (was killed by SIGKILL|exited)/);

      await until(async () => (await statusOf(`${base}/ready`)) === 503, "the gateway to notice");
      const down = await fetch(`${base}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "gust-mini", messages: [{ role: "user", content: "x" }], max_tokens: 2 }),
      });
      expect(down.status).toBe(503);
      expect((await down.json()).error.message).toMatch(/runtime/i);

      runtime = await startGust(runtimeArgs, /serving/, 60_000);
      started.push(runtime);
      await until(async () => (await statusOf(`${base}/ready`)) === 200, "the gateway to reconnect");
      const openai = new OpenAI({ baseURL: `${base}/v1`, apiKey: "unused", maxRetries: 0 });
      const again = await openai.chat.completions.create({
        model: "gust-mini",
        messages: [{ role: "user", content: "again" }],
        max_tokens: 3,
      });
      expect(again.choices[0].message.content).toBeTypeOf("string");
    },
    240_000,
  );
});
