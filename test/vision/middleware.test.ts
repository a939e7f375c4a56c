// The vision() middleware contract: what it puts on the context, how it shares the body, the content cache,
// and that its sizes drive the chat encoder to the same token layout (resolveImage).
import { Hono } from "hono";
import type { Context } from "hono";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { vision } from "../../edge/middleware/vision.ts";
import { ImageCache } from "../../edge/vision/cache.ts";
import type { VisionContext } from "../../edge/vision/request-images.ts";
import { encodeChatJson } from "../../runtime/text/index.ts";
import { Golden } from "../helpers/fixtures.ts";
import { fixtureTekken } from "../text/helpers.ts";
import { b64, chatWith, dataUrl, makeImage } from "./helpers.ts";

type Seen = { vision?: VisionContext; rawBody?: string; body?: unknown };

function appWith(mw: ReturnType<typeof vision>, before?: (c: Context) => void) {
  const seen: Seen = {};
  const a = new Hono();
  if (before) a.use("*", async (c, next) => (before(c), next()));
  a.use("*", mw);
  a.all("/chat", (c) => {
    seen.vision = c.get("vision");
    seen.rawBody = c.get("rawBody");
    seen.body = (c as unknown as { get(k: string): unknown }).get("body");
    return c.text("ok");
  });
  const post = (body: string) =>
    a.request("/chat", { method: "POST", body, headers: { "content-type": "application/json" } });
  return { a, seen, post };
}

describe("vision context", () => {
  it("exposes images keyed by their source string, with grid, size, rgb, hash and tokens", async () => {
    const png = await makeImage(100, 30);
    const jpeg = await makeImage(1000, 750, "jpeg");
    const url1 = dataUrl(png);
    const url2 = b64(jpeg); // bare base64 in a Mistral-style string image_url
    const body = {
      messages: [{
        role: "user",
        content: [{ type: "image_url", image_url: { url: url1 } }, { type: "image_url", image_url: url2 }, {
          type: "text",
          text: "?",
        }],
      }],
    };
    const { seen, post } = appWith(vision());
    expect((await post(JSON.stringify(body))).status).toBe(200);
    const v = seen.vision!;
    expect([...v.images.keys()]).toEqual([url1, url2]);
    const a = v.images.get(url1)!;
    expect([a.width, a.height, a.cols, a.rows, a.tokens]).toEqual([112, 56, 4, 2, 10]);
    expect(a.rgb.length).toBe(112 * 56 * 3);
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
    const b = v.images.get(url2)!;
    expect([b.width, b.height, b.cols, b.rows, b.tokens]).toEqual([1008, 756, 36, 27, 999]);
    expect(v.imageTokens).toBe(1009);
  });

  it("sets rawBody and body when first, reuses an earlier reader's rawBody", async () => {
    const text = JSON.stringify(chatWith(dataUrl(await makeImage(8, 8))));
    const first = appWith(vision());
    await first.post(text);
    expect(first.seen.rawBody).toBe(text);
    expect(first.seen.body).toEqual(JSON.parse(text));
    // an earlier middleware read the body already (and the stream is consumed): vision uses its rawBody
    const earlier = appWith(vision(), (c) => c.set("rawBody", text));
    const res = await earlier.a.request("/chat", { method: "POST", body: "" });
    expect(res.status).toBe(200);
    expect(earlier.seen.vision!.images.size).toBe(1);
  });

  it("GET, empty bodies and requests without images pass with an empty context", async () => {
    const { a, seen, post } = appWith(vision());
    expect((await a.request("/chat")).status).toBe(200);
    expect(seen.vision!.images.size).toBe(0);
    for (const body of ["", "[]", '{"messages": "hi"}', '{"messages": [{"role": "user", "content": "hi"}]}']) {
      expect((await post(body)).status).toBe(200);
      expect(seen.vision).toMatchObject({ imageTokens: 0 });
    }
  });

  it("identical images are decoded once: within a request and across a conversation's turns", async () => {
    const cache = new ImageCache();
    const { post, seen } = appWith(vision({ cache }));
    const png = await makeImage(300, 200);
    const turn1 = {
      messages: [{
        role: "user",
        content: [{ type: "image_url", image_url: { url: dataUrl(png) } }, {
          type: "image_url",
          image_url: dataUrl(png),
        }],
      }],
    };
    await post(JSON.stringify(turn1));
    expect(cache.stats().decodes).toBe(1); // the same string twice: one entry in the map, one decode
    const turn2 = {
      messages: [...turn1.messages, { role: "assistant", content: "a" }, {
        role: "user",
        content: [{ type: "image", image: b64(png) }],
      }],
    };
    await post(JSON.stringify(turn2));
    // turn 2 re-sends the data URL (hit) and adds the same bytes as bare base64 (a different string: hit too)
    expect(cache.stats()).toMatchObject({ decodes: 1, hits: 2, entries: 1 });
    expect(seen.vision!.imageTokens).toBe(3 * seen.vision!.images.get(dataUrl(png))!.tokens);
    await post(JSON.stringify(chatWith(dataUrl(await makeImage(300, 200, "png", { seed: 9 })))));
    expect(cache.stats().decodes).toBe(2); // different content: decoded
  });

  it("EXIF orientation is applied by default and can be turned off for mistral-common parity", async () => {
    const rotated = await makeImage(60, 30, "jpeg", { orientation: 6 }); // stored 60 x 30, shown 30 x 60
    const on = appWith(vision());
    await on.post(JSON.stringify(chatWith(dataUrl(rotated, "image/jpeg"))));
    expect([...on.seen.vision!.images.values()].map((i) => [i.width, i.height])).toEqual([[56, 84]]);
    const off = appWith(vision({ exifOrientation: false }));
    await off.post(JSON.stringify(chatWith(dataUrl(rotated, "image/jpeg"))));
    expect([...off.seen.vision!.images.values()].map((i) => [i.width, i.height])).toEqual([[84, 56]]);
  });

  it("first frame of an animated GIF; WebP and GIF decode", async () => {
    for (const fmt of ["gif", "webp"] as const) {
      const { seen, post } = appWith(vision());
      const res = await post(JSON.stringify(chatWith(dataUrl(await makeImage(30, 20, fmt), `image/${fmt}`))));
      expect(res.status).toBe(200);
      expect(seen.vision!.imageTokens).toBe(3);
    }
  });

  it("an internal failure is a 500 with a generic message, nothing from the cause", async () => {
    class Broken extends ImageCache {
      override getOrCreate(): never {
        throw new Error("ENOMEM at /srv/secret/path.ts:12");
      }
    }
    const { post } = appWith(vision({ cache: new Broken() }));
    const res = await post(JSON.stringify(chatWith(dataUrl(await makeImage(8, 8)))));
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text).error).toMatchObject({
      type: "server_error",
      code: "internal_error",
      param: "messages[0].content[1].image_url.url",
    });
    expect(text).not.toMatch(/ENOMEM|secret|\.ts/);
  });

  it("bad options fail at setup with the allowed values", () => {
    expect(() => vision({ maxImages: 0 })).toThrow(/maxImages must be a positive integer/);
    expect(() => vision({ urlPorts: [70000] })).toThrow(/1..65535/);
    expect(() => vision({ maxImageSize: 20 })).toThrow(/at least one token cell \(28 pixels\)/);
  });
});

describe("with the chat encoder", () => {
  it("resolveImage from the vision context gives the encoder the same grids and token count", async () => {
    const tok = fixtureTekken(); // tiny model: max edge 112
    const { seen, post } = appWith(vision({ maxImageSize: tok.image!.maxImageSize }));
    const big = dataUrl(await makeImage(300, 200));
    const small = dataUrl(await makeImage(20, 50, "png", { seed: 3 }));
    const body = JSON.stringify({
      messages: [{
        role: "user",
        content: [{ type: "text", text: "a" }, { type: "image_url", image_url: { url: big } }, {
          type: "image_url",
          image_url: small,
        }, { type: "image_url", image_url: { url: big } }],
      }],
    });
    await post(body);
    const v = seen.vision!;
    const chat = encodeChatJson(tok, seen.rawBody!, { resolveImage: (src) => v.images.get(src)! });
    expect(chat.images.map((i) => [i.cols, i.rows])).toEqual(
      [big, small, big].map((s) => [v.images.get(s)!.cols, v.images.get(s)!.rows]),
    );
    const imageIds = new Set([tok.controlId("[IMG]"), tok.controlId("[IMG_BREAK]"), tok.controlId("[IMG_END]")]);
    expect(chat.ids.filter((id) => imageIds.has(id)).length).toBe(v.imageTokens);
  });

  it("the golden fixture's images come out as the golden RGB and pixel values", async () => {
    const g = new Golden("tiny-mistral3");
    const mean = [0.48145466, 0.4578275, 0.40821073];
    const std = [0.26862954, 0.26130258, 0.27577711];
    for (const [name, k, count] of [["one_image", 0, 1], ["two_images", 0, 2], ["two_images", 1, 2]] as const) {
      const info = g.file.tensors.get(`${name}.image${k}.rgb`)!;
      const [h, w] = info.shape;
      const rgb = new Uint8Array(g.file.bytes(info));
      const png = new Uint8Array(await sharp(rgb, { raw: { width: w, height: h, channels: 3 } }).png().toBuffer());
      const { seen, post } = appWith(vision({ maxImageSize: 112 }));
      await post(JSON.stringify(chatWith(dataUrl(png))));
      const img = [...seen.vision!.images.values()][0];
      expect([img.width, img.height]).toEqual([w, h]);
      expect(img.rgb).toEqual(rgb);
      // normalising our bytes (runtime's job) gives the golden pixel_values, CHW
      const pv = g.f32(`${name}.pixel_values`);
      const [, , ph, pw] = g.file.tensors.get(`${name}.pixel_values`)!.shape;
      let maxDiff = 0;
      for (let c = 0; c < 3; c++) {
        for (let y = 0; y < h; y++) {
          for (let x = 0; x < w; x++) {
            const ours = (img.rgb[(y * w + x) * 3 + c] / 255 - mean[c]) / std[c];
            maxDiff = Math.max(maxDiff, Math.abs(ours - pv[((k * 3 + c) * ph + y) * pw + x]));
          }
        }
      }
      expect(count).toBeGreaterThan(0);
      expect(maxDiff).toBeLessThan(1e-5);
    }
  });
});
