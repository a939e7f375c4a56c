// Vision goldens (tiny-mistral3, transformers Mistral3ForConditionalGeneration in fp32): pixel values
// from the RGB bytes, projector outputs, every decoder hidden state and the logits within tolerance
// (the first diverging layer named), greedy tokens exactly equal; chunked prefill with a chunk boundary
// inside an image's token run; several images in one call ≡ one call per image.
import { afterAll, describe, expect, it } from "vitest";
import { createBackend } from "../../ffi/backend.ts";
import { ImageFeatureCursor } from "../../runtime/model/image-prefill.ts";
import { loadModel } from "../../runtime/model/load-model.ts";
import { SingleSequence } from "../../runtime/model/single-sequence.ts";
import { argmax } from "../../runtime/sampling/basic.ts";
import { requireVision } from "../../runtime/vision/open-vision.ts";
import { pixelValues, type RgbImage } from "../../runtime/vision/pixels.ts";
import { closeness, describe as explain } from "../helpers/compare.ts";
import { fixtureDir, Golden } from "../helpers/fixtures.ts";
import { expectLogitsAndGreedy } from "../helpers/golden-checks.ts";
import { goldenImages as imagesOf } from "../helpers/vision-fixtures.ts";

const backend = createBackend("cpu");
const model = loadModel(fixtureDir("tiny-mistral3"), backend);
const vision = requireVision(model.config, backend);
afterAll(() => {
  vision.dispose();
  model.dispose();
});
const golden = new Golden("tiny-mistral3");
const t = model.config.text;
const IMG = vision.config.imageTokenId;
// decoder tolerances as in golden.test.ts; the projector output is compared tighter
const ABS = 1e-4, REL = 1e-3, FEAT_ABS = 1e-5, FEAT_REL = 1e-4;
const cases = ["one_image", "two_images"];
const goldenImages = (c: string) => imagesOf(golden, c);

/** Golden hidden.i: 0 = embeddings (after the image scatter), i = after layer i−1, L = after the final norm. */
function firstDivergence(hidden: Map<number | "final", Float32Array>, c: string, rowsFrom = 0): string | null {
  for (let i = 0; i <= t.numLayers; i++) {
    const ours = i < t.numLayers ? hidden.get(i)! : hidden.get("final")!;
    const want = golden.f32(`${c}.hidden.${i}`).subarray(rowsFrom * t.hiddenSize);
    const cmp = closeness(ours, want, ABS, REL);
    if (!cmp.ok) {
      return `hidden.${i} (${i === 0 ? "embeddings" : i === t.numLayers ? "final norm" : `after layer ${i - 1}`}): ${
        explain(cmp)
      }`;
    }
  }
  return null;
}

describe.each(cases)("vision golden %s", (c) => {
  const ids = golden.i32(`${c}.input_ids`);
  const images = goldenImages(c);

  it("has images and [IMG] tokens to test (guards against a vacuous pass)", () => {
    expect(images.length).toBeGreaterThan(0);
    expect(Array.from(ids).filter((id) => id === IMG).length).toBe(
      golden.f32(`${c}.image_features`).length / t.hiddenSize,
    );
  });

  it("pixel values: our normalisation of the RGB bytes equals the processor's, bit for bit", () => {
    const info = golden.file.tensors.get(`${c}.pixel_values`)!;
    const [, , Hmax, Wmax] = info.shape;
    const all = golden.f32(`${c}.pixel_values`);
    images.forEach((img, k) => {
      const ours = pixelValues(img);
      const want = new Float32Array(3 * img.height * img.width);
      for (let ch = 0; ch < 3; ch++) {
        for (let y = 0; y < img.height; y++) {
          for (let x = 0; x < img.width; x++) {
            want[(ch * img.height + y) * img.width + x] = all[((k * 3 + ch) * Hmax + y) * Wmax + x];
          }
        }
      }
      const cmp = closeness(ours, want, 0, 0);
      expect(cmp.ok, `image ${k}: ${explain(cmp)}`).toBe(true);
    });
  });

  it("projector outputs match image_features", () => {
    const out = vision.model.encode(images);
    expect(out.hidden).toBe(t.hiddenSize);
    const cmp = closeness(out.features, golden.f32(`${c}.image_features`), FEAT_ABS, FEAT_REL);
    expect(cmp.ok, `image_features: ${explain(cmp)}`).toBe(true);
  });

  it("hidden states, logits and greedy tokens with the image features in the [IMG] rows", () => {
    const features = vision.model.encode(images).features;
    const cursor = new ImageFeatureCursor({ values: features, hidden: t.hiddenSize, imageTokenId: IMG });
    const seq = new SingleSequence(backend, model.model, ids.length + 16);
    try {
      const hidden = new Map<number | "final", Float32Array>();
      const result = seq.append(ids, {
        allRows: true,
        onHidden: (l, v) => hidden.set(l, v),
        imageEmbeddings: cursor.take(ids),
      });
      expect(cursor.consumed).toBe(cursor.numRows);
      expect(firstDivergence(hidden, c), "first diverging hidden state").toBeNull();
      expectLogitsAndGreedy(seq, result.logits, golden, c, t.vocabSize);
    } finally {
      seq.dispose();
    }
  });

  it("without the image features the logits differ (the scatter is what makes the golden pass)", () => {
    const seq = new SingleSequence(backend, model.model, ids.length);
    try {
      const plain = seq.append(ids, { allRows: true }).logits;
      expect(closeness(plain, golden.f32(`${c}.logits`), ABS, REL).ok).toBe(false);
    } finally {
      seq.dispose();
    }
  });

  it.each([1, 3, 5])("chunked prefill (chunks of %i, a boundary inside an image run) matches the golden", (chunk) => {
    const boundaries = Array.from({ length: Math.floor((ids.length - 1) / chunk) }, (_, i) => (i + 1) * chunk);
    expect(boundaries.some((b) => ids[b - 1] === IMG && ids[b] === IMG), "some chunk boundary splits an [IMG] run")
      .toBe(true);
    const features = vision.model.encode(images).features;
    const cursor = new ImageFeatureCursor({ values: features, hidden: t.hiddenSize, imageTokenId: IMG });
    const seq = new SingleSequence(backend, model.model, ids.length);
    try {
      const logits = new Float32Array(ids.length * t.vocabSize);
      const hidden = new Map<number | "final", Float32Array[]>();
      for (let start = 0; start < ids.length; start += chunk) {
        const part = ids.subarray(start, start + chunk);
        const r = seq.append(part, {
          allRows: true,
          imageEmbeddings: cursor.take(part),
          onHidden: (l, v) => hidden.set(l, [...(hidden.get(l) ?? []), v]),
        });
        logits.set(r.logits, start * t.vocabSize);
      }
      expect(cursor.consumed).toBe(cursor.numRows);
      const joined = new Map(
        [...hidden].map(([l, parts]) => [l, Float32Array.from(parts.flatMap((p) => Array.from(p)))]),
      );
      expect(firstDivergence(joined, c), "first diverging hidden state (chunked)").toBeNull();
      const cmp = closeness(logits, golden.f32(`${c}.logits`), ABS, REL);
      expect(cmp.ok, `chunked logits: ${explain(cmp)}`).toBe(true);
    } finally {
      seq.dispose();
    }
  });
});

describe("vision batching", () => {
  it("all golden images in one encode call equal one call per image (attention stays within each image)", () => {
    const all = cases.flatMap(goldenImages);
    expect(all.length).toBe(3);
    const together = vision.model.encode(all);
    expect(together.images.map((g) => [g.rows, g.cols, g.offset])).toEqual([[2, 3, 0], [3, 2, 6], [1, 4, 12]]);
    const separate = all.map((img) => vision.model.encode([img]).features);
    const cmp = closeness(together.features, Float32Array.from(separate.flatMap((f) => Array.from(f))), 1e-6, 1e-6);
    expect(cmp.ok, explain(cmp)).toBe(true);
  });

  it("refuses images whose sides are not multiples of 28 or exceed image_size, naming the image", () => {
    const img = (height: number, width: number): RgbImage => ({
      rgb: new Uint8Array(height * width * 3),
      height,
      width,
    });
    expect(() => vision.model.encode([img(28, 28), img(30, 28)])).toThrow(
      /Image 1 is 28×30 pixels; both sides must be multiples of 28/,
    );
    expect(() => vision.model.encode([img(140, 28)])).toThrow(
      /Image 0 is 28×140 pixels; the vision tower takes at most 112 per side/,
    );
    expect(() => vision.model.encode([{ rgb: new Uint8Array(5), height: 28, width: 28 }])).toThrow(
      /has 5 bytes; 28×28 RGB needs 2352/,
    );
    expect(vision.model.encode([]).features.length).toBe(0);
  });
});
