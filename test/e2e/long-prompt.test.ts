// Issue 32 end to end: `gust dev` with the default model (gust-mini, context 65,536) takes a prompt far past the
// 4,096 tokens it once held, the gateway answers /health while that prompt prefills, and the second turn of the
// same conversation finds its prompt in the prefix cache. GUST_LONG_PROMPT_TOKENS sets the prompt's size (default
// 12,000 so `npm test` stays short on two cores; the 40k check is GUST_LONG_PROMPT_TOKENS=40000).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, type Started, startGust } from "../helpers/processes.ts";

const port = await freePort();
const targetTokens = Number(process.env.GUST_LONG_PROMPT_TOKENS ?? 12_000);
// prefill on a loaded two-core machine runs at a few hundred tokens a second at worst
const timeoutMs = 120_000 + targetTokens * 12;
let dev: Started | undefined;
let client: OpenAI;
beforeAll(async () => {
  const noFunctions = mkdtempSync(join(tmpdir(), "gust-long-e2e-"));
  dev = await startGust(["dev", "--functions", noFunctions, "--port", String(port)], /ready on/, 60_000);
  client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: "unused", maxRetries: 0, timeout: timeoutMs });
}, 70_000);
afterAll(async () => {
  await dev?.stop("SIGINT");
});

const FILLER = [
  "The weather was calm that day.",
  "Nothing else happened in the morning.",
  "The train left the station on time.",
  "A cat slept near the window.",
];

/** Filler of about `tokens` tokens (a sentence is ~7.5 of gust-mini's tokens) with a code said near the start. */
function longText(tokens: number): string {
  const sentences = Math.ceil(tokens / 7.5);
  const parts = Array.from({ length: sentences }, (_, i) => FILLER[(i * 7) % FILLER.length]);
  parts.splice(3, 0, "The secret code is falcon-42.");
  return parts.join(" ");
}

describe(`a ${targetTokens}-token prompt on gust-mini over HTTP`, () => {
  const messages: OpenAI.ChatCompletionMessageParam[] = [
    { role: "user", content: `${longText(targetTokens)} What is the secret code?` },
  ];
  let firstPromptTokens = 0;

  it("is accepted and answered while /health keeps answering during its prefill", async () => {
    let firstContent = false, healthDuringPrefill = 0, healthFailures = 0;
    const stream = await client.chat.completions.create({
      model: "gust-mini",
      temperature: 0,
      max_tokens: 16,
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    // /health in a loop until the first token arrives: each one that returns before it was served mid-prefill
    const poll = (async () => {
      while (!firstContent) {
        const r = await fetch(`http://127.0.0.1:${port}/health`).catch(() => null);
        if (r?.ok && !firstContent) healthDuringPrefill++;
        else if (!r?.ok) healthFailures++;
        await r?.text();
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
    let text = "", finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta?.content;
      if (delta) {
        firstContent = true;
        text += delta;
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
      usage = chunk.usage ?? usage;
    }
    firstContent = true;
    await poll;
    expect(healthFailures).toBe(0);
    expect(healthDuringPrefill).toBeGreaterThan(0);
    expect(usage!.prompt_tokens).toBeGreaterThan(Math.max(4096, targetTokens * 0.8));
    expect(text.trim()).not.toBe("");
    expect(["stop", "length"]).toContain(finish);
    firstPromptTokens = usage!.prompt_tokens;
    messages.push({ role: "assistant", content: text }, { role: "user", content: "Say it again." });
  }, timeoutMs);

  it("reports at least 90 % of the second turn's prompt as cached", async () => {
    expect(firstPromptTokens).toBeGreaterThan(0);
    const r = await client.chat.completions.create({ model: "gust-mini", temperature: 0, max_tokens: 8, messages });
    const cached = r.usage!.prompt_tokens_details?.cached_tokens ?? 0;
    expect(r.usage!.prompt_tokens).toBeGreaterThan(firstPromptTokens);
    expect(cached / r.usage!.prompt_tokens).toBeGreaterThanOrEqual(0.9);
    expect(r.choices[0].message.content?.trim()).not.toBe("");
  }, timeoutMs);
});
