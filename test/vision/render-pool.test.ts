// The render pool (edge/vision/render-pool.ts) against its spec, the same render on the calling thread
// (edge/vision/render.ts): equal pixels and hashes, equal refusals, and a pool that keeps serving.
import { afterAll, describe, expect, it } from "vitest";
import { readHeader } from "../../edge/vision/format.ts";
import { probeEncoded, type RenderJob, renderPixels } from "../../edge/vision/render.ts";
import { RenderPool } from "../../edge/vision/render-pool.ts";
import { type Fmt, makeImage } from "./helpers.ts";

const pools: RenderPool[] = [];
const pool = (size: number) => {
  const p = new RenderPool(size);
  pools.push(p);
  return p;
};
afterAll(() => pools.forEach((p) => p.close()));

function job(bytes: Uint8Array, outWidth: number, outHeight: number, over: Partial<RenderJob> = {}): RenderJob {
  const header = readHeader(bytes, 50_000_000);
  return {
    bytes,
    header,
    width: header.width,
    height: header.height,
    outWidth,
    outHeight,
    maxPixels: 50_000_000,
    exifOrientation: true,
    ...over,
  };
}

async function refusal(p: Promise<unknown>): Promise<{ status: number; code: string; message: string }> {
  const e = (await p.then(() => null, (err) => err)) as { status: number; code: string; message: string } | null;
  expect(e).not.toBeNull();
  return { status: e!.status, code: e!.code, message: e!.message };
}

describe("render pool", () => {
  const cases: [string, number, number, Fmt, { alpha?: boolean }, number, number][] = [
    ["JPEG downscaled", 300, 200, "jpeg", {}, 140, 84],
    ["PNG with alpha, same size (composite only)", 56, 84, "png", { alpha: true }, 56, 84],
    ["PNG RGB, same size (the decoder's own buffer, copied)", 84, 56, "png", {}, 84, 56],
    ["WebP upscaled", 50, 30, "webp", {}, 56, 28],
  ];
  for (const [name, w, h, fmt, opts, ow, oh] of cases) {
    it(`equals the render on the calling thread: ${name}`, async () => {
      const bytes = await makeImage(w, h, fmt, { ...opts, seed: w + h });
      const inline = await renderPixels(job(bytes, ow, oh));
      const pooled = await pool(1).render(job(bytes, ow, oh));
      expect(pooled.rgb.length).toBe(ow * oh * 3);
      expect(pooled.hash).toBe(inline.hash);
      expect(Buffer.from(pooled.rgb).equals(Buffer.from(inline.rgb))).toBe(true);
    });
  }

  it("refuses what the calling thread refuses, with the same status, code and message", async () => {
    const bytes = await makeImage(120, 80, "jpeg", { seed: 3 });
    const truncated = bytes.slice(0, Math.floor(bytes.length / 3));
    const p = pool(1);
    for (const j of [job(truncated, 56, 28), job(bytes, 56, 28, { width: 121 })]) {
      const inline = await refusal(renderPixels(j));
      expect(inline.status).toBe(400);
      expect(await refusal(p.render(j))).toEqual(inline);
    }
  });

  it("probes as the calling thread probes: oriented size, content hash, and the same refusals", async () => {
    const p = pool(1);
    const bytes = await makeImage(120, 80, "jpeg", { seed: 4 });
    const header = readHeader(bytes, 50_000_000);
    const probe = { bytes, header, maxPixels: 50_000_000, exifOrientation: true };
    const inline = await probeEncoded(probe);
    expect(inline.width).toBe(120);
    expect(inline.contentHash).toMatch(/^[0-9a-f]{64}$/);
    expect(await p.probe(probe)).toEqual(inline);
    // a PNG header on JPEG bytes: the decoder disagrees with the sniffer
    const lying = { ...probe, header: { ...header, format: "png" as const } };
    const refused = await refusal(probeEncoded(lying));
    expect(refused.code).toBe("image_format");
    expect(await refusal(p.probe(lying))).toEqual(refused);
  });

  it("spreads concurrent jobs over at most its size in workers and answers each with its own image", async () => {
    const p = pool(2);
    const images = await Promise.all([1, 2, 3, 4, 5, 6].map((seed) => makeImage(90 + seed, 60, "png", { seed })));
    const jobs = images.map((b) => job(b, 56, 28));
    const [pooled, inline] = await Promise.all([
      Promise.all(jobs.map((j) => p.render(j))),
      Promise.all(jobs.map((j) => renderPixels(j))),
    ]);
    expect(pooled.map((r) => r.hash)).toEqual(inline.map((r) => r.hash));
    expect(new Set(pooled.map((r) => r.hash)).size).toBe(6);
    expect(p.started).toBe(2);
  });

  it("fails a job that breaks inside the worker with a 500-able error and keeps serving", async () => {
    const p = pool(1);
    const bytes = await makeImage(60, 40, "png", { seed: 9 });
    await expect(
      p.render({
        ...job(bytes, 56, 28),
        bytes: null as unknown as Uint8Array,
        header: null as unknown as RenderJob["header"],
      }),
    ).rejects.toThrow(/^image worker: TypeError/);
    expect((await p.render(job(bytes, 56, 28))).rgb.length).toBe(56 * 28 * 3);
  });

  it("starts no worker until the first image, and refuses work once closed", async () => {
    const p = pool(3);
    expect(p.started).toBe(0);
    const bytes = await makeImage(60, 40, "png", { seed: 5 });
    const inFlight = p.render(job(bytes, 56, 28));
    p.close();
    await expect(inFlight).rejects.toThrow(/closed before this image was done/);
    await expect(p.render(job(bytes, 56, 28))).rejects.toThrow(/render pool is closed/);
  });

  it("checks its size", () => {
    expect(() => new RenderPool(0)).toThrow(/integer >= 1, got 0/);
  });
});
