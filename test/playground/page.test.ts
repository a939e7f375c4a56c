// The playground page in headless Chromium against `gust dev` on gust-mini, with API keys on: streamed chat,
// a reasoning section, an image, a tool call answered by hand, a deployed example function, and a stopped stream
// whose KV blocks the status line shows going back to 0; and, on the Bun and the Deno gateway alike, the page with no
// runtime behind it. Screenshots (first load, after a reasoning answer) go to
// .playground-screenshots/ (gitignored).
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { repoRoot } from "../helpers/fixtures.ts";
import { freePort, startDenoGateway, type Started, startGust, tempSocket } from "../helpers/processes.ts";
import { launch, skipReason } from "./browser.ts";

if (skipReason) console.log(`test/playground/page.test.ts skipped: ${skipReason}`);

const port = await freePort();
const API_KEY = "playground-api-key";
const ADMIN_KEY = "playground-admin-key";
const shots = join(repoRoot, ".playground-screenshots");
// the page updates as answers stream and the status line polls each second; a loaded machine may take a while
const poll = <T>(read: () => T | Promise<T>) => expect.poll(read, { timeout: 30_000 });

describe.skipIf(skipReason !== null)("the playground page against gust dev on gust-mini", () => {
  let dev: Started, browser: Browser, page: Page;

  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    dev = await startGust(["dev", "--port", String(port)], /ready on/, 150_000, {
      GUST_API_KEYS: API_KEY,
      GUST_ADMIN_KEY: ADMIN_KEY,
    });
    browser = await launch();
    page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    await page.goto(`http://127.0.0.1:${port}/`);
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await dev?.stop("SIGINT");
  });

  const answer = () => page.locator("#conversation .msg[data-role=assistant]").last();

  async function ask(text: string) {
    await page.fill("#message", text);
    await page.press("#message", "Enter"); // keyboard send
  }

  async function fresh(effort: string) {
    await page.click("#clear");
    await page.selectOption("#effort", effort);
    await page.fill("#temperature", "0");
  }

  it("loads, takes the API key, and shows the runtime in the status line", async () => {
    await poll(() => page.textContent("#status")).toMatch(/model gust-mini · context \d+/);
    // metrics need the key: the status line says so until it is typed in
    await poll(() => page.textContent("#status")).toMatch(/metrics: 401/);
    await page.fill("#api-key", API_KEY);
    await page.press("#api-key", "Tab");
    await poll(() => page.textContent("#status")).toMatch(/KV blocks 0\/\d+ · running 0/);
    await poll(() => page.locator("#model option").allTextContents()).toContain("gust-mini");
    await page.screenshot({ path: join(shots, "first-load.png"), fullPage: true });
  });

  it("sends a message with the keyboard and shows the streamed answer with its usage", async () => {
    await fresh("none");
    const streamed = page.waitForResponse((r) => r.url().endsWith("/v1/chat/completions"));
    await ask("Please calculate 16 - 3.");
    const res = await streamed;
    expect(res.headers()["content-type"]).toMatch(/^text\/event-stream/);
    await poll(() => answer().locator(".usage").textContent())
      .toMatch(/prompt \d+ \(cached \d+\) · completion \d+ \(reasoning 0\) · .*first token \d+ ms/);
    expect(await answer().locator(".answer").textContent()).toContain("13");
    expect(await answer().locator(".reasoning").count()).toBe(0);

    // regenerate: the answer is asked for again and replaces the old one
    const again = page.waitForResponse((r) => r.url().endsWith("/v1/chat/completions"));
    await page.click("#regenerate");
    await again;
    await poll(() => answer().locator(".usage").count()).toBe(1);
    expect(await page.locator("#conversation .msg").count()).toBe(2);
    expect(await answer().locator(".answer").textContent()).toContain("13");
  });

  it("answers in JSON with response format json_object", async () => {
    await fresh("none");
    await page.click("summary:text('Response format')");
    await page.selectOption("#format", "json_object");
    await ask("Return JSON (name, age, city) for: Nora, 41, from Oslo.");
    await poll(() => answer().locator(".usage").count()).toBe(1);
    const text = (await answer().locator(".answer").textContent()) ?? "";
    expect(JSON.parse(text)).toBeTypeOf("object");
    await page.selectOption("#format", "text");
  });

  it("with reasoning effort high, shows a collapsible reasoning section with its token count", async () => {
    await fresh("high");
    await ask("Compute 41-35.");
    const summary = answer().locator(".reasoning summary");
    await poll(() => summary.textContent()).toMatch(/^Reasoning \([1-9]\d* tokens\)$/);
    expect(await answer().locator(".answer").textContent()).toContain("4");
    expect(await answer().locator(".usage").textContent()).toMatch(/\(reasoning [1-9]\d*\)/);
    await page.screenshot({ path: join(shots, "reasoning-answer.png"), fullPage: true });
  });

  it("sends an image from the file picker, shows it, and answers about it", async () => {
    await fresh("none");
    await page.setInputFiles("#image-picker", join(repoRoot, "test/playground/red-square.png"));
    await poll(() => page.locator("#attachments img").count()).toBe(1);
    await ask("What color is the shape?");
    const sent = page.locator("#conversation .msg[data-role=user] img");
    await poll(() => sent.getAttribute("src")).toMatch(/^data:image\/png;base64,/);
    await poll(() => answer().locator(".usage").count()).toBe(1);
    expect(await answer().locator(".answer").textContent()).toMatch(/red/);
    expect(await page.locator("#attachments img").count()).toBe(0);
  });

  it("renders a tool call, takes its result, and shows the final answer", async () => {
    await fresh("none");
    await page.click("summary:text('Tools')"); // the tools editor starts folded
    await page.click("#tools-example");
    await ask("What time is it in Tokyo?");
    const call = answer().locator(".tool-call");
    await poll(() => call.textContent()).toMatch(/Tool call: get_time.*Tokyo/s);
    await call.getByLabel("Result for get_time").fill('{"city": "Tokyo", "time": "05:45"}');
    await call.getByRole("button", { name: "Send result" }).click();
    await poll(() => page.locator("#conversation .msg[data-role=tool]").count()).toBe(1);
    await poll(() => page.locator("#conversation .msg[data-role=assistant]").count()).toBe(2);
    await poll(() => answer().locator(".usage").count()).toBe(1); // the final answer has finished
    expect(await answer().locator(".answer").textContent()).toContain("05:45");
    await page.fill("#tools", "");
  });

  it("lists the deployed example functions with the admin key and calls one", async () => {
    await page.fill("#admin-key", ADMIN_KEY);
    await page.press("#admin-key", "Tab");
    await poll(() => page.textContent("#functions-list")).toMatch(/summarize v1 \(versions 1\)/);
    expect(await page.textContent("#functions-list")).toMatch(/extract v1/);
    await page.fill("#fn-name", "summarize");
    await page.selectOption("#fn-method", "POST");
    await page.fill("#fn-body", '{"text": "Ada Lovelace wrote the first program in 1843.", "max_tokens": 16}');
    await page.click("#fn-send");
    // the toy model's summary is not checked, only that the function ran on the model and answered
    await poll(() => page.textContent("#fn-result")).toMatch(/^200 OK\n\{\n  "summary": /);
    await page.fill("#fn-body", "{}");
    await page.click("#fn-send"); // a function's own error comes through as it is
    await poll(() => page.textContent("#fn-result")).toMatch(/^400 .*text: a non-empty string is required/s);
  });

  it("stops a stream; the status line shows the runtime's KV blocks back at 0", async () => {
    await fresh("none");
    await page.fill("#max-tokens", "2000"); // with the prompt, within gust-mini's 4096-token context
    const words = Array.from({ length: 100 }, (_, i) => `word${i}`).join(" ");
    // the toy model may end its answer before the click on a fast machine: this one request ignores EOS, so the
    // stream runs to 2000 tokens unless stopped
    await page.route(
      "**/v1/chat/completions",
      (route) => route.continue({ postData: JSON.stringify({ ...route.request().postDataJSON(), ignore_eos: true }) }),
      {
        times: 1,
      },
    );
    await ask(`Repeat exactly: ${words}`);
    await poll(() => answer().locator(".answer").count()).toBe(1); // text is streaming
    await page.click("#stop");
    await poll(() => answer().textContent()).toContain("Stopped.");
    expect(await page.isDisabled("#stop")).toBe(true);
    await poll(() => page.textContent("#status")).toMatch(/KV blocks 0\/\d+ · running 0/);
    await page.fill("#max-tokens", "");
  });
});

// both gateways serve the page: Deno's as well as Bun's
describe.skipIf(skipReason !== null).each(["bun", "deno"] as const)(
  "the playground page on %s with no runtime",
  (kind) => {
    let gateway: Started, browser: Browser, downPort: number;

    beforeAll(async () => {
      const socket = tempSocket("playground-none"); // nothing listens there
      downPort = await freePort();
      const state = mkdtempSync(join(tmpdir(), "gust-pg-"));
      const flags = ["--runtime", socket, "--port", String(downPort), "--state-dir", state];
      gateway = kind === "bun"
        ? await startGust(["serve", ...flags], /gateway on/, 60_000)
        : await startDenoGateway(flags, 60_000);
      browser = await launch();
    }, 90_000);
    afterAll(async () => {
      await browser?.close();
      await gateway?.stop();
    });

    it("says the runtime is down in the status line, and why a message fails", async () => {
      const page = await browser.newPage({ viewport: { width: 420, height: 800 } }); // a narrow window
      await page.goto(`http://127.0.0.1:${downPort}/`);
      await poll(() => page.getAttribute("#status", "data-state")).toBe("down");
      expect(await page.textContent("#status")).toMatch(/^Runtime down: 503: the model runtime is not connected/);
      await page.fill("#message", "Hello?");
      await page.click("#send");
      await poll(() => page.textContent("#chat-error")).toMatch(/^The gateway refused the request: 503: /);
      // the message stays in the conversation with no empty answer after it, ready to be sent again
      expect(await page.locator("#conversation .msg").count()).toBe(1);
      expect(await page.isEnabled("#regenerate")).toBe(true);
      await page.screenshot({ path: join(shots, "runtime-down-narrow.png"), fullPage: true });
    });
  },
);
