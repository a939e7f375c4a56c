// Decode → composite onto white → resize, against mistral-common's own transform run with PIL and OpenCV
// (`cv2.resize(np.array(_convert_to_rgb(img), float32), size, INTER_CUBIC)`) on small encoded files covering
// RGBA, grey, grey+alpha, palette with a transparent entry, GIF, JPEG and RGB PNG.
import { describe, expect, it } from "vitest";
import { resizeBicubic, toBytes } from "../../edge/vision/bicubic.ts";
import { toRgbOnWhite } from "../../edge/vision/composite.ts";
import { decode } from "../../edge/vision/decode.ts";
import { prepareImage, probeImage } from "../../edge/vision/prepare.ts";
import { resolveOptions } from "../../edge/vision/options.ts";
import { gridFor } from "../../edge/vision/size-rule.ts";
import { loadManifest, readPipeline } from "./reference-data.ts";

const opts = resolveOptions({ exifOrientation: false });

describe("whole pipeline vs mistral-common (PIL + OpenCV)", () => {
  const cases = loadManifest().pipeline;
  it("covers every alpha/palette path", () => {
    expect(cases.map((c) => c.mode).sort()).toEqual(["L", "LA", "P", "P", "RGB", "RGB", "RGBA"]);
  });

  for (const c of cases) {
    it(`${c.name} (PIL mode ${c.mode}) ${c.src.join("x")} -> ${c.dst.join("x")}`, async () => {
      const { file, expected } = readPipeline(c);
      const p = await probeImage(file, opts);
      expect([p.width, p.height]).toEqual(c.src);
      const g = gridFor(p.width, p.height, opts);
      expect([g.width, g.height]).toEqual(c.dst);
      const d = await decode(file, p.header, opts.maxPixels, false);
      const rgb = toRgbOnWhite(d.data, d.width * d.height, d.channels);
      const out = resizeBicubic({ width: d.width, height: d.height, channels: 3, data: rgb }, g.width, g.height).data;
      let maxDiff = 0;
      for (let i = 0; i < out.length; i++) maxDiff = Math.max(maxDiff, Math.abs(out[i] - expected[i]));
      // Bit-exact: same decoded samples as PIL (8-bit sRGB files, libjpeg islow IDCT), PIL's integer blend,
      // OpenCV's float order. A JPEG decoder with another IDCT would differ by a level or two here.
      expect(maxDiff).toBe(0);
      // and what the runtime receives is those floats rounded to bytes
      const prepared = await prepareImage(file, opts);
      expect(prepared.rgb).toEqual(toBytes(expected));
      expect([prepared.width, prepared.height, prepared.cols, prepared.rows]).toEqual([
        g.width,
        g.height,
        g.cols,
        g.rows,
      ]);
    });
  }
});

describe("compositing onto white (PIL paste arithmetic)", () => {
  it("opaque, transparent and partial alpha", () => {
    const rgba = new Uint8Array([10, 20, 30, 255, 10, 20, 30, 0, 1, 1, 1, 128, 0, 0, 0, 128, 200, 100, 0, 77]);
    // 1 at alpha 128: (255·127 + 128)/255 = 127.502 -> 128 (worked example in composite.ts)
    // 200/100/0 at 77: (255·178 + 200·77)/255 = 238.39 -> 238; (45390 + 7700)/255 = 208.2 -> 208; 45390/255 = 178
    expect(Array.from(toRgbOnWhite(rgba, 5, 4))).toEqual([
      10,
      20,
      30,
      255,
      255,
      255,
      128,
      128,
      128,
      127,
      127,
      127,
      238,
      208,
      178,
    ]);
  });

  it("grey and grey+alpha expand to three equal channels", () => {
    expect(Array.from(toRgbOnWhite(new Uint8Array([0, 77, 255]), 3, 1))).toEqual([0, 0, 0, 77, 77, 77, 255, 255, 255]);
    expect(Array.from(toRgbOnWhite(new Uint8Array([0, 0, 0, 255]), 2, 2))).toEqual([255, 255, 255, 0, 0, 0]);
  });

  it("every (value, alpha) pair equals round-to-nearest of the float blend", () => {
    const px = new Uint8Array(256 * 256 * 4);
    for (let c = 0; c < 256; c++) for (let a = 0; a < 256; a++) px.set([c, c, c, a], (c * 256 + a) * 4);
    const out = toRgbOnWhite(px, 256 * 256, 4);
    for (let c = 0; c < 256; c++) {
      for (let a = 0; a < 256; a++) {
        const v = (255 * (255 - a) + c * a) / 255;
        // v·255 is an integer, so v is never exactly x.5 and round-to-nearest is unambiguous
        expect(out[(c * 256 + a) * 3]).toBe(Math.round(v));
      }
    }
  });

  it("refuses channel counts it does not know", () => {
    expect(() => toRgbOnWhite(new Uint8Array(10), 2, 5)).toThrow(/5-channel/);
  });
});
