// Hostile and malformed images through the vision() middleware: every refusal is a JSON error with the right
// status, code and request path, states the limit where there is one, and never leaks a stack.
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { vision } from "../../edge/middleware/vision.ts";
import type { VisionOptions } from "../../edge/vision/options.ts";
import { b64, chatWith, dataUrl, makeImage, pngHeaderClaiming } from "./helpers.ts";

function app(opts: VisionOptions = {}) {
  let handled = 0;
  const a = new Hono();
  a.post("/chat", vision(opts), (c) => {
    handled++;
    const v = c.get("vision");
    return c.json({
      tokens: v.imageTokens,
      images: [...v.images.values()].map((i) => [i.width, i.height, i.cols, i.rows]),
    });
  });
  return { a, handled: () => handled };
}

async function post(opts: VisionOptions, body: unknown) {
  const { a, handled } = app(opts);
  const res = await a.request("/chat", {
    method: "POST",
    body: typeof body === "string" ? body : JSON.stringify(body),
    headers: { "content-type": "application/json" },
  });
  const json = (await res.json()) as any;
  return { status: res.status, json, handled: handled() };
}

function expectError(
  r: { status: number; json: any; handled: number },
  status: number,
  code: string,
  message: RegExp,
  param?: string,
) {
  expect(r.status).toBe(status);
  expect(r.handled).toBe(0);
  expect(r.json.error.code).toBe(code);
  expect(r.json.error.message).toMatch(message);
  expect(r.json.error.type).toBe(status === 403 ? "permission_error" : "invalid_request_error");
  if (param) expect(r.json.error.param).toBe(param);
  expect(JSON.stringify(r.json)).not.toMatch(/\n\s+at |\.ts:\d+/); // no stack, no source locations
}

describe("decompression bombs and caps", () => {
  it("a PNG header claiming 50 000 x 50 000 is refused before decoding (413, with the numbers)", async () => {
    const bomb = pngHeaderClaiming(50_000, 50_000); // 33 bytes: any decoder would try to allocate 7.5 GB
    const r = await post({}, chatWith(dataUrl(bomb)));
    expectError(
      r,
      413,
      "image_too_many_pixels",
      /50,000 x 50,000 = 2,500,000,000 pixels; the limit is 50,000,000/,
      "messages[0].content[1].image_url.url",
    );
  });

  it("the pixel cap is configurable and checked on the header", async () => {
    const r = await post({ maxPixels: 1000 }, chatWith(dataUrl(await makeImage(40, 30))));
    expectError(r, 413, "image_too_many_pixels", /40 x 30 = 1,200 pixels; the limit is 1,000/);
  });

  it("bytes over maxImageBytes are refused from the base64 length, before decoding (413)", async () => {
    const png = await makeImage(64, 64);
    const r = await post({ maxImageBytes: 1000 }, chatWith(dataUrl(png)));
    expectError(
      r,
      413,
      "image_too_many_bytes",
      new RegExp(`image is ${png.length.toLocaleString("en-US")} bytes; the limit is 1,000 bytes`),
    );
  });

  it("more images than maxImages is a 400 naming the first extra part", async () => {
    const url = dataUrl(await makeImage(8, 8));
    const r = await post({ maxImages: 2 }, chatWith(url, url, url));
    expectError(
      r,
      400,
      "too_many_images",
      /request has 3 images; the limit is 2/,
      "messages[0].content[3].image_url.url",
    );
  });

  it("over the token cap: refused with the per-image numbers and the limit", async () => {
    const big = dataUrl(await makeImage(1000, 750)); // 999 tokens
    const small = dataUrl(await makeImage(100, 30, "png", { seed: 1 })); // 4 x 2 grid -> 10 tokens
    const r = await post({ maxImageTokens: 1000 }, chatWith(big, small));
    expectError(
      r,
      413,
      "image_too_many_tokens",
      /images need 1,009 tokens \(999 \+ 10\); the limit is 1,000 image tokens per request/,
    );
  });

  it("over the token cap with downscaleToFit: shrunk to fit instead", async () => {
    const big = dataUrl(await makeImage(1000, 750));
    const small = dataUrl(await makeImage(100, 30, "png", { seed: 1 }));
    const r = await post({ maxImageTokens: 1000, downscaleToFit: true }, chatWith(big, small));
    expect(r.status).toBe(200);
    expect(r.json.tokens).toBeLessThanOrEqual(1000);
    const [bw, bh, bc, br] = r.json.images[0];
    expect(bw).toBeLessThan(1008);
    expect([bw % 28, bh % 28, bw / 28, bh / 28]).toEqual([0, 0, bc, br]);
    expect(r.json.images[1]).toEqual([112, 56, 4, 2]); // the small one is left alone
  });

  it("a repeated image counts once per occurrence against the token cap", async () => {
    const url = dataUrl(await makeImage(1000, 750));
    const r = await post({ maxImageTokens: 1500 }, chatWith(url, url));
    expectError(r, 413, "image_too_many_tokens", /images need 1,998 tokens \(999 \+ 999\)/);
  });
});

describe("corrupt, truncated and mislabelled files", () => {
  it("truncated PNG and JPEG are refused (400)", async () => {
    for (const fmt of ["png", "jpeg"] as const) {
      const full = await makeImage(64, 48, fmt);
      for (const keep of [0.3, 0.9]) {
        const r = await post({}, chatWith(dataUrl(full.subarray(0, Math.floor(full.length * keep)))));
        expectError(r, 400, "image_decode", /truncated or corrupt/);
      }
    }
  });

  it("a header cut inside the size fields is refused", async () => {
    const r = await post({}, chatWith(dataUrl((await makeImage(8, 8)).subarray(0, 20))));
    expectError(r, 400, "image_decode", /PNG header is truncated or corrupt/);
  });

  it("corrupted compressed data is refused (400)", async () => {
    const png = await makeImage(64, 48);
    const bad = png.slice();
    for (let i = 60; i < bad.length - 20; i += 7) bad[i] ^= 0x5a;
    expectError(await post({}, chatWith(dataUrl(bad))), 400, "image_decode", /could not be (read|decoded)/);
  });

  it("a header whose size disagrees with the pixels is refused", async () => {
    const png = (await makeImage(16, 16)).slice();
    new DataView(png.buffer).setUint32(16, 17); // IHDR width 16 -> 17 (CRC now wrong too)
    const r = await post({}, chatWith(dataUrl(png)));
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe("image_decode");
  });

  it("data:image/png carrying JPEG bytes is decoded as the JPEG it is (documented: bytes decide)", async () => {
    const jpeg = await makeImage(30, 20, "jpeg");
    const r = await post({}, chatWith(dataUrl(jpeg, "image/png")));
    expect(r.status).toBe(200);
    expect(r.json.images).toEqual([[56, 28, 2, 1]]);
  });

  it("a non-image MIME type is refused even with valid image bytes", async () => {
    const png = await makeImage(8, 8);
    for (const mime of ["text/html", "application/octet-stream", ""]) {
      const r = await post({}, chatWith(dataUrl(png, mime)));
      expectError(
        r,
        400,
        "image_mime",
        /is not an image type; allowed: image\/png, image\/jpeg, image\/gif, image\/webp/,
      );
    }
  });

  it("formats we do not decode are refused by their bytes (SVG, HTML, BMP)", async () => {
    const svg = new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>');
    expectError(
      await post({}, chatWith(dataUrl(svg, "image/svg+xml"))),
      400,
      "image_format",
      /SVG\/XML text; allowed formats: PNG, JPEG, GIF, WebP/,
    );
    const html = new TextEncoder().encode("<!DOCTYPE html><html></html>");
    expectError(await post({}, chatWith(dataUrl(html, "image/png"))), 400, "image_format", /an HTML page/);
    const bmp = new Uint8Array(64);
    bmp.set([0x42, 0x4d]);
    expectError(await post({}, chatWith(dataUrl(bmp, "image/bmp"))), 400, "image_format", /a BMP file/);
  });

  it("bad base64, empty payloads, non-base64 data URLs and other schemes are refused", async () => {
    expectError(await post({}, chatWith("data:image/png;base64,@@@@")), 400, "image_source", /not valid base64/);
    expectError(
      await post({}, chatWith("data:image/png;base64,AB=")),
      400,
      "image_source",
      /padding does not complete/,
    );
    expectError(await post({}, chatWith("data:image/png;base64,")), 400, "image_source", /empty/);
    expectError(await post({}, chatWith("data:image/png,%89PNG")), 400, "image_source", /not base64-encoded/);
    expectError(await post({}, chatWith("file:///etc/passwd")), 400, "image_source", /scheme "file:" is not supported/);
    expectError(
      await post({}, { messages: [{ role: "user", content: [{ type: "image_url", image_url: 5 }] }] }),
      400,
      "image_source",
      /image_url must be a string or an object/,
      "messages[0].content[0].image_url",
    );
  });

  it("an image too thin for one token row is refused with the reason", async () => {
    const r = await post({ maxPixels: 10_000_000 }, chatWith(dataUrl(await makeImage(16000, 2))));
    expectError(r, 400, "image_size", /16000 x 2 is too thin/);
  });

  it("invalid JSON is a 400, not a crash", async () => {
    expectError(await post({}, "{not json"), 400, "invalid_json", /not valid JSON/);
  });

  it("bare base64 (Mistral image chunk) is accepted like a data URL", async () => {
    const png = await makeImage(30, 20);
    const r = await post({}, { messages: [{ role: "user", content: [{ type: "image", image: b64(png) }] }] });
    expect(r.status).toBe(200);
    expect(r.json.images).toEqual([[56, 28, 2, 1]]);
  });
});
