// The PNG reader against vectors from an independent encoder (tools/fixtures/make_png_vectors.py: every
// filter type, sub-byte and 16-bit depths, palettes with tRNS, alpha composited onto white), the golden
// images written as PNG, and broken files.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { chunk, decodePng, encodePng } from "../../runtime/vision/png.ts";
import { fixturesDir, Golden } from "../helpers/fixtures.ts";
import { goldenImages } from "../helpers/vision-fixtures.ts";

const pngDir = join(fixturesDir, "png");
const vectors: { name: string; width: number; height: number }[] =
  JSON.parse(readFileSync(join(pngDir, "vectors.json"), "utf8")).vectors;

function header(width: number, height: number, depth = 8, colorType = 2, interlace = 0): Uint8Array {
  const ihdr = new Uint8Array(13), dv = new DataView(ihdr.buffer);
  dv.setUint32(0, width);
  dv.setUint32(4, height);
  ihdr.set([depth, colorType, 0, 0, interlace], 8);
  return chunk("IHDR", ihdr);
}
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((o, p) => (out.set(p, o), o + p.length), 0);
  return out;
};
const SIG = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

describe("PNG reader", () => {
  it("covers 8 vectors (guards against a vacuous pass)", () => expect(vectors.length).toBe(8));

  it.each(vectors.map((v) => [v.name, v] as const))("decodes %s to the expected RGB", (_name, v) => {
    const img = decodePng(new Uint8Array(readFileSync(join(pngDir, `${v.name}.png`))));
    expect([img.width, img.height]).toEqual([v.width, v.height]);
    expect(Buffer.from(img.rgb).equals(readFileSync(join(pngDir, `${v.name}.rgb`)))).toBe(true);
  });

  it("reads the golden images' PNG files back to the golden bytes, and round-trips its own output", () => {
    const golden = new Golden("tiny-mistral3");
    for (const c of ["one_image", "two_images"]) {
      goldenImages(golden, c).forEach((img, k) => {
        const file = decodePng(new Uint8Array(readFileSync(join(fixturesDir, "tiny-mistral3", `${c}.image${k}.png`))));
        expect([file.width, file.height]).toEqual([img.width, img.height]);
        expect(Buffer.from(file.rgb).equals(Buffer.from(img.rgb))).toBe(true);
        expect(Buffer.from(decodePng(encodePng(img)).rgb).equals(Buffer.from(img.rgb))).toBe(true);
      });
    }
  });

  it("refuses a header claiming 50 000 × 50 000 pixels before inflating anything", () => {
    const bomb = concat(SIG, header(50000, 50000), chunk("IDAT", new Uint8Array(16)), chunk("IEND", new Uint8Array(0)));
    expect(() => decodePng(bomb, { what: "bomb.png" })).toThrow(/bomb.png: 50000×50000 pixels exceeds the limit/);
  });

  it("names corrupt, truncated, interlaced and non-PNG input", () => {
    const good = new Uint8Array(readFileSync(join(pngDir, "rgb8.png")));
    const flipped = good.slice();
    flipped[40] ^= 0xff; // inside IDAT
    expect(() => decodePng(flipped)).toThrow(/fails its CRC check/);
    expect(() => decodePng(good.subarray(0, good.length - 20))).toThrow(/truncated/);
    expect(() => decodePng(good.subarray(0, 30))).toThrow(/truncated/);
    expect(() => decodePng(concat(SIG, header(4, 4, 8, 2, 1), chunk("IEND", new Uint8Array(0))))).toThrow(/interlaced/);
    expect(() => decodePng(concat(SIG, header(4, 4, 16, 3)))).toThrow(/colour type 3 with bit depth 16 is not a valid/);
    expect(() => decodePng(new TextEncoder().encode("GIF89a........"))).toThrow(/not a PNG file/);
    const garbage = concat(
      SIG,
      header(4, 4),
      chunk("IDAT", Uint8Array.of(1, 2, 3, 4, 5)),
      chunk("IEND", new Uint8Array(0)),
    );
    expect(() => decodePng(garbage)).toThrow(/does not inflate/);
  });
});
