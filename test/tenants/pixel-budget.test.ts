// Image decoding is admitted by a pixel budget shared by every request: the worked example of pixel-budget.ts, and
// real renders of many large images at once (the render pool, sharp) never holding more than the budget's pixels.
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { resolveOptions } from "../../edge/vision/options.ts";
import { PixelBudget, sharedPixelBudget } from "../../edge/vision/pixel-budget.ts";
import { prepareImage } from "../../edge/vision/prepare.ts";

describe("pixel budget", () => {
  it("runs what fits together, queues the rest in order, and runs an oversized image alone", async () => {
    const budget = new PixelBudget(64);
    const order: string[] = [];
    const a = await budget.acquire(30);
    const b = await budget.acquire(30);
    expect(budget.held).toBe(60);
    const c = budget.acquire(30).then((r) => (order.push("c"), r));
    const big = budget.acquire(100).then((r) => (order.push("big"), r));
    await Promise.resolve();
    expect(order).toEqual([]);
    a();
    (await c)();
    expect(order).toEqual(["c"]);
    b();
    const releaseBig = await big;
    expect(budget.held).toBe(100); // alone
    releaseBig();
    expect(budget.held).toBe(0);
    expect(budget.peak).toBe(100);
  });

  it("real renders of 8 images of 16 MP at once never hold more than the 64 MP budget", async () => {
    const png = await sharp({
      create: { width: 4000, height: 4000, channels: 3, background: { r: 200, g: 100, b: 50 } },
    }).png().toBuffer();
    const opts = resolveOptions({ imagePatchSize: 14, spatialMergeSize: 2, maxImageSize: 1540 });
    const images = await Promise.all(
      Array.from({ length: 8 }, () => prepareImage(new Uint8Array(png), opts)),
    );
    expect(images.every((im) => im.width > 0 && im.rgb.length === im.width * im.height * 3)).toBe(true);
    expect(sharedPixelBudget.held).toBe(0);
    expect(sharedPixelBudget.peak).toBeGreaterThanOrEqual(16_000_000);
    expect(sharedPixelBudget.peak).toBeLessThanOrEqual(sharedPixelBudget.capacity);
  }, 120_000);
});
