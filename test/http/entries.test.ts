// The server entries over real sockets: serveBun in this process (tests run on Bun), serveDeno in a Deno child
// process, both with the fake runtime. Checks loopback-only binding, SSE through a real connection, and that a
// client dropping the connection aborts the runtime sequence.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createApp } from "../../edge/app.ts";
import { serveBun } from "../../edge/bun.ts";
import { FakeBinding, ids } from "../helpers/fake-binding.ts";
import { repoRoot } from "../helpers/fixtures.ts";
import { settle } from "../helpers/manual-clock.ts";
import { parseSse } from "../helpers/sse.ts";

const onBun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await settle(1);
  if (!cond()) throw new Error(`gave up waiting for ${what}`);
}

describe.skipIf(!onBun)("serveBun", () => {
  it("refuses a public address without API keys", () => {
    const app = createApp({ binding: () => null, apiKeys: [] });
    expect(() => serveBun(app, { port: 0, hostname: "0.0.0.0" })).toThrow(/loopback only/);
  });

  it("streams over a real connection, and a dropped connection aborts the sequence", async () => {
    const fake = new FakeBinding();
    fake.script = () => ({ choices: [{ ids: ids("one two three four", "</s>") }], manual: true });
    const app = createApp({ binding: () => fake, apiKeys: [], logError: () => {} });
    const server = serveBun(app, { port: 0 });
    try {
      expect(server.hostname).toBe("127.0.0.1");
      const ac = new AbortController();
      const res = fetch(`http://127.0.0.1:${server.port}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ messages: [{ role: "user", content: "x" }], stream: true }),
        signal: ac.signal,
      });
      await until(() => fake.calls.length === 1, "the generate call");
      fake.lastCall.release(2);
      const r = await res;
      expect(r.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
      const reader = r.body!.getReader();
      let text = "";
      while (text.split("data: ").length < 4) text += new TextDecoder().decode((await reader.read()).value); // role + 2 tokens
      ac.abort();
      await until(() => fake.lastCall.aborted, "the abort to reach the runtime");
      expect(fake.lastCall.abortedAfter).toBe(2);

      // and a whole stream end to end
      fake.reply(ids("Hi", "</s>"));
      const full = await fetch(`http://127.0.0.1:${server.port}/v1/chat/completions`, {
        method: "POST",
        body: JSON.stringify({ messages: [{ role: "user", content: "x" }], stream: true }),
      });
      const frames = parseSse(await full.text());
      expect(frames.at(-1)).toEqual({ kind: "data", text: "[DONE]" });
    } finally {
      server.stop(true);
    }
  });
});

describe("the gateway on Deno", () => {
  it("serves chat (one-shot and SSE), errors and 401s through Deno.serve", async () => {
    const child = spawn(join(repoRoot, "node_modules", ".bin", "deno"), [
      "run",
      "--allow-read",
      "--allow-net",
      "--allow-env",
      join(repoRoot, "test/http/deno-app.ts"),
    ], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(err).not.toMatch(/error/i);
    expect(code).toBe(0);
    const report = JSON.parse(out.trim().split("\n").at(-1)!);
    expect(report).toEqual({
      hostname: "127.0.0.1",
      oneShot: { status: 200, content: "Hello there" },
      stream: { status: 200, last: "[DONE]", content: "Hello there" },
      slow: { content: "slow and steady", aborted: false },
      badRole: { status: 400, param: "messages[0].role" },
      unauthorized: 401,
    });
  });
});
