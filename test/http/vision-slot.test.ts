// The vision hook slot with the real vision() middleware: images in a chat request reach the runtime as RGB in
// prompt order, with the [IMG] grid the middleware computed; without the hook, or with a text-only model, an
// image is a 400 naming the part.
import { describe, expect, it } from "vitest";
import { vision } from "../../edge/middleware/vision.ts";
import { testGateway } from "../helpers/gateway.ts";
import { dataUrl, makeImage } from "../vision/helpers.ts";

const chat = (url: string) => ({
  messages: [{
    role: "user",
    content: [{ type: "text", text: "what is it?" }, { type: "image_url", image_url: { url } }],
  }],
});

describe("vision hook slot", () => {
  it("hands prepared images to the runtime with a matching [IMG] grid", async () => {
    const g = testGateway({
      fake: { hasVision: true },
      vision: vision({ imagePatchSize: 14, spatialMergeSize: 2, maxImageSize: 112 }) as never,
    });
    const url = dataUrl(await makeImage(80, 40));
    const res = await g.post("/v1/chat/completions", chat(url));
    expect(res.status).toBe(200);
    const o = g.fake.lastCall.options;
    expect(o.images).toHaveLength(1);
    const img = o.images![0];
    expect(img.rgb.length).toBe(img.width * img.height * 3);
    const tok = g.fake.info.tokenizer;
    const cols = img.width / 28;
    const rows = img.height / 28;
    const imgId = tok.controlId("[IMG]");
    expect(o.promptIds.filter((id) => id === imgId)).toHaveLength(cols * rows);
    expect(tok.decode(o.promptIds, "show")).toContain("[IMG_END]what is it?[/INST]"); // image first, then the text
  });

  it("a text-only model refuses images naming the part", async () => {
    const g = testGateway();
    const res = await g.post("/v1/chat/completions", chat(dataUrl(await makeImage(8, 8))));
    expect(res.status).toBe(400);
    const err = (await res.json()).error;
    expect(err.param).toBe("messages[0].content[1]");
    expect(err.message).toContain("text only");
  });

  it("a vision model without the hook says the route cannot prepare images", async () => {
    const g = testGateway({ fake: { hasVision: true } });
    const res = await g.post("/v1/chat/completions", chat(dataUrl(await makeImage(8, 8))));
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatchObject({ param: "messages[0].content[1]", code: "image-unprepared" });
  });

  it("the hook's own refusals keep their status and field", async () => {
    const g = testGateway({ fake: { hasVision: true }, vision: vision({ maxImages: 1, maxImageSize: 112 }) as never });
    const url = dataUrl(await makeImage(8, 8));
    const body = {
      messages: [{
        role: "user",
        content: [{ type: "image_url", image_url: { url } }, { type: "image_url", image_url: { url } }],
      }],
    };
    const res = await g.post("/v1/chat/completions", body);
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatchObject({
      code: "too_many_images",
      param: "messages[0].content[1].image_url.url",
    });
    expect(g.fake.calls).toHaveLength(0);
  });
});
