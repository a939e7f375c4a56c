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
import { SingleSequence } from "../../runtime/model/single-sequence.ts";
import { textWorkspaceBytes } from "../../runtime/model/workspace.ts";
import { shardLayout } from "../../runtime/parallel/layout.ts";
import { encodeBatch, ImageRequestError } from "../../runtime/server/images.ts";
import { ModelHost } from "../../runtime/server/model-host.ts";
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

const full = image(112, 112, 1), wide = image(84, 56, 2), small = image(28, 28, 3);

describe("vision tower memory", () => {
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

describe("the runtime's vision call takes turns with the step's buffers", () => {
  it("encodeBatch frees the decoder's workspace first, so the call adds only visionWorkspaceBytes", async () => {
    const { counting, bytes } = countingBackend(backend);
    const host = await ModelHost.open(counting, {
      modelDir: fixtureDir("tiny-mistral3"),
      numBlocks: 16,
      maxBatchedTokens: 64,
      maxNumSeqs: 4,
    });
    try {
      const v = host.vision!.config, text = host.loaded.config.text;
      const ids = Array.from({ length: 60 }, (_, i) => 20 + i);
      const before = new SingleSequence(counting, host.loaded.model, 64);
      const ref = before.append(ids).logits; // the step's workspace now holds 60 tokens and 1 row
      const held = bytes.live;
      bytes.peak = held;
      // one 112² image: 4 rows of 4 [IMG], each row closed by [IMG_BREAK], the last by [IMG_END]
      const row = [v.imageTokenId, v.imageTokenId, v.imageTokenId, v.imageTokenId];
      const promptIds = [
        1,
        ...row,
        v.imageBreakId,
        ...row,
        v.imageBreakId,
        ...row,
        v.imageBreakId,
        ...row,
        v.imageEndId,
      ];
      const [prepared] = encodeBatch(host, [{ promptIds, images: [full] }]);
      expect(prepared).not.toBeInstanceOf(ImageRequestError);
      const freed = held - bytes.live;
      expect(freed).toBeGreaterThanOrEqual(textWorkspaceBytes(text, shardLayout(text, 1), 60, 1));
      expect(bytes.peak - bytes.live).toBe(visionWorkspaceBytes(v)); // never step buffers and tower at once
      // the next step allocates its buffers again and computes the same logits
      const after = new SingleSequence(counting, host.loaded.model, 64);
      expect(after.append(ids).logits).toEqual(ref);
      before.dispose();
      after.dispose();
    } finally {
      host.dispose();
    }
  });
});
