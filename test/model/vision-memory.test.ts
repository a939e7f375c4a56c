// The vision tower's memory is bounded and counted exactly (issue 30: `gust plan` counts what the runtime
// allocates): wide stages by row chunks ≡ all rows at once, images cut into groups ≡ one group, and the most
// device memory a call holds (counted through the real backend) is visionGroupBytes of its largest group.
import { afterAll, describe, expect, it } from "vitest";
import { createBackend } from "../../ffi/backend.ts";
import { loadModelConfig } from "../../runtime/config/load-config.ts";
import { requireVision } from "../../runtime/vision/open-vision.ts";
import type { RgbImage } from "../../runtime/vision/pixels.ts";
import {
  groupStarts,
  maxPatchesPerGroup,
  visionGroupBytes,
  visionWorkspaceBytes,
} from "../../runtime/vision/vision-memory.ts";
import { VisionModel } from "../../runtime/vision/vision-model.ts";
import { closeness, describe as explain } from "../helpers/compare.ts";
import { countingBackend } from "../helpers/counting-backend.ts";
import { fixtureDir } from "../helpers/fixtures.ts";

const backend = createBackend("cpu");
const vision = requireVision(loadModelConfig(fixtureDir("tiny-mistral3")), backend);
afterAll(() => vision.dispose());
const c = vision.config; // patch 14, image 112: at most 8 × 8 = 64 patches per group, merge 2

function image(width: number, height: number, seed: number): RgbImage {
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 37 + seed * 101 + ((i * i) >> 7)) & 255;
  return { rgb, width, height };
}

describe("vision tower memory", () => {
  const full = image(112, 112, 1), wide = image(84, 56, 2), small = image(28, 28, 3);

  it("groups: consecutive images up to one full-size image's patches", () => {
    expect(maxPatchesPerGroup(c)).toBe(64);
    // patches: 64 | 6·4 = 24 | 4 | 64 | 24 + 24 + 4 → groups [0], [1, 2], [3], [4, 5, 6]
    expect(groupStarts([64, 24, 4, 64, 24, 24, 4], 64)).toEqual([0, 1, 3, 4, 7]);
    expect(groupStarts([], 64)).toEqual([0]);
  });

  it("row chunks and groups give the features of one call per image (within float rounding)", () => {
    const images = [full, wide, small, full, wide];
    // reference: one image per call, every stage over all its rows at once (16 merged rows ≤ 1024)
    const separate = images.map((img) => vision.model.encode([img]).features);
    const reference = Float32Array.from(separate.flatMap((f) => Array.from(f)));
    // chunks of 5 rows: the MLP over 64 patches runs in 13 chunks, the projector over 16 merged rows in 4
    using chunked = disposable(new VisionModel(backend, c, vision.weights, 5));
    const got = chunked.model.encode(images);
    // the CPU GEMM blocks rows by count, so sums may round differently; a misplaced row would be off by ~1
    const cmp = closeness(got.features, reference, 1e-5, 1e-5);
    expect(got.features.length).toBe(reference.length);
    expect(cmp.ok, explain(cmp)).toBe(true);
    expect(got.images.map((g) => g.offset)).toEqual([0, 16, 22, 23, 39]);
    // and several groups in one call through the default model equal the separate calls too
    const grouped = closeness(vision.model.encode(images).features, reference, 1e-5, 1e-5);
    expect(grouped.ok, explain(grouped)).toBe(true);
  });

  it("a call holds at most visionGroupBytes of its largest group, counted through the real backend", () => {
    for (const chunkRows of [1024, 5]) {
      const { counting, bytes: counter } = countingBackend(backend);
      using m = disposable(new VisionModel(counting, c, vision.weights, chunkRows));
      const tables = counter.live; // the 2-D RoPE tables, counted by the planner as fixed bytes
      counter.peak = tables;
      m.model.encode([full]);
      expect(counter.peak - tables, `chunk ${chunkRows}`).toBe(visionWorkspaceBytes(c, chunkRows));
      expect(counter.live).toBe(tables); // everything of the call is freed
      // five images in four groups: never more than the full group
      counter.peak = tables;
      m.model.encode([full, wide, small, full, wide]);
      expect(counter.peak - tables).toBe(visionWorkspaceBytes(c, chunkRows));
      // a group of two smaller images holds their 28 patches' worth
      counter.peak = tables;
      m.model.encode([wide, small]);
      expect(counter.peak - tables).toBe(visionGroupBytes(c, 28, chunkRows));
    }
  });

  it("hand count for tiny-mistral3 (d 48, F 96, E = text hidden) at one full group", () => {
    const E = c.textHiddenSize, patchLen = 3 * 14 * 14;
    // 64 patches × (4·(588 + 6·48) + 8) + 17 starts × 4 + MLP 2·64·96·4 + merged 16·48·4 + projector 2·16·E·4
    const want = 64 * (4 * (patchLen + 6 * 48) + 8) + 17 * 4 + 2 * 64 * 96 * 4 + 16 * 48 * 4 + 2 * 16 * E * 4;
    expect(visionWorkspaceBytes(c)).toBe(want);
    // chunks of 5 rows shrink the gate/up and hidden/out buffers to 5 rows each
    expect(visionWorkspaceBytes(c, 5)).toBe(want - 2 * (64 - 5) * 96 * 4 - 2 * (16 - 5) * E * 4);
  });
});

function disposable(model: VisionModel) {
  return { model, [Symbol.dispose]: () => model.dispose() };
}
