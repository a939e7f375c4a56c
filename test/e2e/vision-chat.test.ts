// Images through a chat request, end to end: the openai client sends the golden PNGs as data URLs,
// the gateway's vision middleware decodes them, the runtime runs the vision tower, and the greedy answer
// equals the same prompt run in-process with the same pixels (engine + vision tower, no HTTP).
import OpenAI from "openai";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleFunction } from "../../edge/functions/bundle.ts";
import { runOnce } from "../../runtime/engine/run-once.ts";
import { runTextFields } from "../../runtime/cli/run-support.ts";
import { encodeChat, loadTokenizer } from "../../runtime/text/index.ts";
import { requireVision } from "../../runtime/vision/open-vision.ts";
import { imageFeaturesForIds } from "../../runtime/vision/run-images.ts";
import { backend, fixtureModel } from "../helpers/engine.ts";
import { fixtureDir } from "../helpers/fixtures.ts";
import { freePort, startDenoGateway, type Started, startGust, tempSocket } from "../helpers/processes.ts";

const MODEL = "tiny-mistral3";
const ADMIN_KEY = "vision-admin-key";
const socket = tempSocket("vision");
const port = await freePort();
const denoPort = await freePort();
let runtime: Started, gateway: Started, denoGateway: Started;

beforeAll(async () => {
  runtime = await startGust(
    ["runtime", "--model", fixtureDir(MODEL), "--socket", socket, "--num-blocks", "128"],
    /serving/,
  );
  gateway = await startGust([
    "serve",
    "--runtime",
    socket,
    "--port",
    String(port),
    "--state-dir",
    mkdtempSync(join(tmpdir(), "gust-v-")),
    "--admin-key",
    ADMIN_KEY,
  ], /gateway on/);
  // the same gateway on Deno: its images are rendered by Deno's worker threads (edge/vision/render-pool.ts)
  denoGateway = await startDenoGateway([
    "--runtime",
    socket,
    "--port",
    String(denoPort),
    "--state-dir",
    mkdtempSync(join(tmpdir(), "gust-vd-")),
  ]);
}, 90_000);
afterAll(async () => {
  await gateway?.stop();
  await denoGateway?.stop();
  await runtime?.stop();
});

describe("images in chat requests", () => {
  async function expected(files: string[], text: string) {
    const paths = files.map((f) => join(fixtureDir(MODEL), f));
    const urls = paths.map((p) => `data:image/png;base64,${readFileSync(p).toString("base64")}`);
    const content = [...urls.map((url) => ({ type: "image_url" as const, image_url: { url } })), {
      type: "text" as const,
      text,
    }];
    const tok = await loadTokenizer(fixtureDir(MODEL));
    const sizes = new Map(urls.map((u, i) => {
      const png = readFileSync(paths[i]);
      return [u, { width: png.readUInt32BE(16), height: png.readUInt32BE(20) }];
    }));
    const promptIds =
      encodeChat(tok, { messages: [{ role: "user", content }] }, { resolveImage: (src) => sizes.get(src!)! }).ids;
    const model = fixtureModel(MODEL);
    const vision = requireVision(model.config, backend);
    const images = imageFeaturesForIds(vision, promptIds, paths);
    vision.dispose();
    const [local] = runOnce(backend, model.model, null, {
      promptIds,
      maxTokens: 8,
      sampling: { temperature: 0 },
      images,
    });
    const fields = runTextFields(tok, local.tokens.map((t) => t.token));
    // a call the random model begins and cannot finish is answer text over HTTP (docs/agents.md, unreadable calls)
    return { content, promptIds, want: fields.text + fields.tool_call_errors.map((e) => e.text).join("") };
  }

  it("concurrent image requests (encoded together by the runtime) each get their own answer", async () => {
    const openai = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: "unused", maxRetries: 0 });
    const cases = [
      await expected(["one_image.image0.png"], "first"),
      await expected(["two_images.image0.png", "two_images.image1.png"], "second"),
      await expected(["two_images.image1.png"], "third"),
      await expected(["one_image.image0.png", "two_images.image1.png"], "fourth"),
    ];
    const answers = await Promise.all(
      cases.map((c) =>
        openai.chat.completions.create({
          model: MODEL,
          messages: [{ role: "user", content: c.content }],
          max_tokens: 8,
          temperature: 0,
        })
      ),
    );
    answers.forEach((a, i) => expect(a.choices[0].message.content, `case ${i}`).toBe(cases[i].want));
  });

  it("image requests sent together share one vision-tower call", async () => {
    const { RuntimeClient } = await import("../../edge/runtime-client/client.ts");
    const client = await RuntimeClient.connect(socket);
    try {
      const before = (await client.stats()).vision!;
      const rgb = (w: number, h: number, v: number) => ({
        rgb: new Uint8Array(w * h * 3).fill(v),
        width: w,
        height: h,
        hash: `h${v}`,
      });
      // one 2×2-cell image (56×56 → [IMG][IMG][IMG_BREAK][IMG][IMG][IMG_END]) per request, after <s>
      const prompt = [1, 3, 10, 10, 12, 10, 10, 13, 4];
      // sent in one turn, so the client writes the three frames as one and the runtime reads them together
      const runs = [20, 90, 200].map((v) =>
        client.generate({
          promptIds: prompt,
          images: [rgb(56, 56, v)],
          maxTokens: 2,
          ignoreEos: true,
          sampling: { temperature: 0 },
        })
      );
      for (const r of runs) for await (const _ of r) { /* drain */ }
      const after = (await client.stats()).vision!;
      expect(after.requests - before.requests).toBe(3);
      expect(after.batches - before.batches).toBe(1);
    } finally {
      client.close();
    }
  });

  it.each([
    [["one_image.image0.png"]],
    [["two_images.image0.png", "two_images.image1.png"]],
  ])("greedy answer with %j equals the in-process run on the same pixels", async (files) => {
    // in-process: the same request encoded with the PNGs' sizes, pixels through the vision tower
    const { content, promptIds, want } = await expected(files, "What is in these pictures?");
    const openai = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: "unused", maxRetries: 0 });
    const r = await openai.chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content }],
      max_tokens: 8,
      temperature: 0,
    });
    expect(r.usage?.prompt_tokens).toBe(promptIds.length);
    expect(r.choices[0].message.content).toBe(want);
  });

  it("c.var.model.chat with an image (data URL, bytes, or vision() middleware) gives the route's tokens", async () => {
    const src = join(mkdtempSync(join(tmpdir(), "gust-fn-see-")), "see.ts");
    writeFileSync(
      src,
      `import { Hono } from "hono";
      import { defineFunction, vision } from "gust/sdk";
      const app = new Hono();
      const ask = (c, messages, vision) =>
        c.var.model.chat({ messages, vision, maxTokens: 8, temperature: 0 }).then((r) => c.json(r));
      // the request's messages as they came: images as data URLs
      app.post("/url", async (c) => ask(c, (await c.req.json()).messages));
      // the same images as bytes
      app.post("/bytes", async (c) => {
        const messages = (await c.req.json()).messages.map((m) => ({
          ...m,
          content: m.content.map((p) => p.type !== "image_url" ? p : {
            type: "image",
            image: Uint8Array.from(atob(p.image_url.url.split(",")[1]), (ch) => ch.charCodeAt(0)),
          }),
        }));
        return ask(c, messages);
      });
      // prepared by the vision() middleware
      app.post("/prepared", vision({ maxImages: 4 }), async (c) => ask(c, (await c.req.json()).messages, c.var.vision));
      export default defineFunction({ name: "see", app });`,
    );
    const deployed = await fetch(`http://127.0.0.1:${port}/admin/functions/see`, {
      method: "POST",
      headers: { "content-type": "application/javascript", "x-admin-key": ADMIN_KEY },
      body: await bundleFunction(src),
    });
    expect(deployed.status, await deployed.clone().text()).toBe(200);
    const { content } = await expected(["two_images.image0.png", "two_images.image1.png"], "Functions see?");
    const messages = [{ role: "user" as const, content }];
    const openai = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: "unused", maxRetries: 0 });
    const route = await openai.chat.completions.create({ model: MODEL, messages, max_tokens: 8, temperature: 0 });
    for (const path of ["url", "bytes", "prepared"]) {
      const res = await fetch(`http://127.0.0.1:${port}/fn/see/${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ messages }),
      });
      expect(res.status, `${path}: ${await res.clone().text()}`).toBe(200);
      const r = await res.json();
      expect(r.usage.prompt_tokens, path).toBe(route.usage?.prompt_tokens);
      expect(r.usage.completion_tokens, path).toBe(route.usage?.completion_tokens);
      expect(r.content, path).toBe(route.choices[0].message.content);
    }
  });

  it("the Deno gateway answers an image request as the in-process run does", async () => {
    const { content, promptIds, want } = await expected(
      ["two_images.image0.png", "two_images.image1.png"],
      "And on Deno?",
    );
    const openai = new OpenAI({ baseURL: `http://127.0.0.1:${denoPort}/v1`, apiKey: "unused", maxRetries: 0 });
    const r = await openai.chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content }],
      max_tokens: 8,
      temperature: 0,
    });
    expect(r.usage?.prompt_tokens).toBe(promptIds.length);
    expect(r.choices[0].message.content).toBe(want);
  });

  it("refuses an image the model's caps do not allow, with the numbers", async () => {
    const big = readFileSync(join(fixtureDir(MODEL), "two_images.image1.png")).toString("base64");
    const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: MODEL,
        max_tokens: 2,
        messages: [{
          role: "user",
          content: Array.from(
            { length: 12 },
            () => ({ type: "image_url", image_url: { url: `data:image/png;base64,${big}` } }),
          ),
        }],
      }),
    });
    expect(res.status).toBe(400);
    expect((await res.json()).error.message).toMatch(/12 .*image|image.* 12|at most/i);
  });
});
