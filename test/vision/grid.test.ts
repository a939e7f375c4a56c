// The mistral-common size rule (model-spec §4.4) through edge/vision/size-rule.ts (which uses the text layer's
// imageGrid), against Python's own round() on a sweep, and the request-level downscale search.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fitMaxEdge, gridFor, gridTokens } from "../../edge/vision/size-rule.ts";
import { dataDir } from "./reference-data.ts";

const cfg = { imagePatchSize: 14, spatialMergeSize: 2, maxImageSize: 1540 };

describe("image grid", () => {
  it("model-spec §4.4 examples", () => {
    const g1 = gridFor(1000, 750, cfg);
    expect([g1.cols, g1.rows, g1.tokens]).toEqual([36, 27, 999]);
    const g2 = gridFor(1920, 1080, cfg);
    expect([g2.width, g2.height, g2.cols, g2.rows, g2.tokens]).toEqual([1540, 868, 55, 31, 1736]);
    const g3 = gridFor(4032, 3024, cfg);
    expect([g3.cols, g3.rows, g3.tokens]).toEqual([55, 42, 2352]);
    const g4 = gridFor(100, 30, cfg);
    expect([g4.width, g4.height]).toEqual([112, 56]); // small images are stretched up
    expect(gridFor(4, 4, cfg).tokens).toBe(2); // [IMG][IMG_END]
    expect(gridFor(1541, 421, cfg).rows).toBe(16); // round(420.73) = 421; HF's floor gives 15
    expect(gridTokens(55, 55)).toBe(3080); // the most one image can take
  });

  it("matches Python's round() on a sweep of sizes (grid-reference.json)", () => {
    const ref = JSON.parse(readFileSync(join(dataDir, "grid-reference.json"), "utf8")) as {
      rows: [number, number, number, number][];
    };
    expect(ref.rows.length).toBeGreaterThan(1500);
    const bad: string[] = [];
    let halves = 0;
    for (const [w, h, cols, rows] of ref.rows) {
      if (w === 3080 && h % 2 === 1) halves++;
      let got: [number, number];
      try {
        const g = gridFor(w, h, cfg);
        got = [g.cols, g.rows];
        expect(g.width).toBe(g.cols * 28);
        expect(g.height).toBe(g.rows * 28);
        expect(Math.max(g.width, g.height)).toBeLessThanOrEqual(1540);
      } catch {
        got = [0, 0];
      }
      if (got[0] !== cols || got[1] !== rows) bad.push(`${w}x${h}: ours ${got.join("x")}, python ${cols}x${rows}`);
    }
    expect(halves).toBeGreaterThan(10); // the banker's-rounding cases are in the sweep
    expect(bad).toEqual([]);
  });

  it("half-way cases round to even like Python", () => {
    // 3080 x 1541: ratio 2, h = round(770.5) = 770 (even) -> rows (770 - 1) // 28 + 1 = 28; half-up would give 771 -> 28 too,
    // so check one where the difference shows: 3080 x 1625 -> round(812.5) = 812 -> 29 rows; half up 813 -> 30 rows
    expect(gridFor(3080, 1625, cfg).rows).toBe(29);
  });

  it("a side that rounds to zero is refused with the reason", () => {
    expect(() => gridFor(40000, 10, cfg)).toThrow(/40000 x 10 is too thin/);
  });
});

describe("downscale to fit a token budget", () => {
  const photo = { width: 4032, height: 3024 };

  it("worked example in size-rule.ts: two photos, budget 3000 -> max edge 1232", () => {
    expect(fitMaxEdge([photo, photo], cfg, 3000)).toBe(1232);
    const g = gridFor(4032, 3024, { ...cfg, maxImageSize: 1232 });
    expect([g.cols, g.rows, 2 * g.tokens]).toEqual([44, 33, 2970]);
    expect(2 * gridFor(4032, 3024, { ...cfg, maxImageSize: 1260 }).tokens).toBeGreaterThan(3000);
  });

  it("keeps the full edge when it already fits, and gives null when nothing fits", () => {
    expect(fitMaxEdge([photo], cfg, 5000)).toBe(1540);
    expect(fitMaxEdge([photo, photo, photo], cfg, 5)).toBeNull(); // 3 images need at least 2 tokens each
    expect(fitMaxEdge([photo, photo, photo], cfg, 6)).toBe(28);
  });

  it("is the largest edge that fits, for a sweep of budgets", () => {
    const sizes = [photo, { width: 800, height: 200 }, { width: 300, height: 3000 }];
    for (const budget of [10, 50, 200, 999, 2000, 4000, 7000]) {
      const edge = fitMaxEdge(sizes, cfg, budget);
      const total = (e: number) =>
        sizes.reduce((n, s) => n + gridFor(s.width, s.height, { ...cfg, maxImageSize: e }).tokens, 0);
      if (edge === null) {
        expect(total(28)).toBeGreaterThan(budget);
        continue;
      }
      expect(total(edge)).toBeLessThanOrEqual(budget);
      if (edge < 1540) expect(total(edge + 28)).toBeGreaterThan(budget);
    }
  });

  it("skips edges at which a thin image has no rows", () => {
    // 3000 x 20 has zero rows below edge 28·k where round(20·28k/3000) >= 1, i.e. k >= 3 (edge 84)
    const thin = { width: 3000, height: 20 };
    expect(fitMaxEdge([thin], cfg, 4)).toBe(84); // 3 cols x 1 row = 4 tokens
    expect(fitMaxEdge([thin], cfg, 3)).toBeNull();
  });
});
