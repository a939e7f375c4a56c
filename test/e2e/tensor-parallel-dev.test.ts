// `gust dev --tensor-parallel 2` answers the openai client end to end (real processes, real client); the
// follower-failure path is test/e2e/tensor-parallel-kill.test.ts.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, describe, expect, it } from "vitest";
import { freePort, type Started, startGust } from "../helpers/processes.ts";

const started: Started[] = [];
afterAll(async () => {
  for (const s of started.reverse()) await s.stop("SIGINT");
});

describe("tensor parallelism end to end", () => {
  it("gust dev --tensor-parallel 2 answers the openai client (plain and streamed)", async () => {
    const port = await freePort();
    const fns = mkdtempSync(join(tmpdir(), "gust-tp-fns-"));
    const dev = await startGust(
      ["dev", "--functions", fns, "--port", String(port), "--tensor-parallel", "2"],
      /ready on/,
      180_000,
    );
    started.push(dev);
    expect(dev.output()).toMatch(/tensor parallel 2/);
    const openai = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: "unused", maxRetries: 0 });
    const messages = [{ role: "user" as const, content: "What is 2 + 3?" }];
    const r = await openai.chat.completions.create({ model: "gust-mini", messages, max_tokens: 12, temperature: 0 });
    expect(r.choices[0].message.content!.length).toBeGreaterThan(0);
    let streamed = "";
    const stream = await openai.chat.completions.create({
      model: "gust-mini",
      messages,
      max_tokens: 12,
      temperature: 0,
      stream: true,
    });
    for await (const chunk of stream) streamed += chunk.choices[0]?.delta?.content ?? "";
    expect(streamed).toBe(r.choices[0].message.content);
    await dev.stop("SIGINT");
  }, 240_000);
});
