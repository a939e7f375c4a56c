// Images through the engine: [IMG] positions take vision features inside ragged batches and chunked
// prefills; prefix caching keys image blocks by content, so the same ids with another picture miss. The
// mixed batch runs at TP 2 too: the vision tower runs on rank 0 and its rows reach the follower in the step.
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { KvCache } from "../../runtime/model/kv-cache.ts";
import { Engine } from "../../runtime/engine/engine.ts";
import type { StepEvent } from "../../runtime/engine/request.ts";
import { requireVision } from "../../runtime/vision/open-vision.ts";
import { imageBlockKeys, imageDigest } from "../../runtime/wire/image-keys.ts";
import { imageTokenIds } from "../../runtime/vision/vision-config.ts";
import { imagesForIds } from "../../runtime/vision/run-images.ts";
import { fixtureDir, Golden } from "../helpers/fixtures.ts";
import { backend, closeParallelFixtures, fixtureModel, greedySampler, prompt } from "../helpers/engine.ts";

const NAME = "tiny-mistral3";
const model = fixtureModel(NAME);
const vision = requireVision(model.config, backend);
const golden = new Golden(NAME);
afterAll(() => vision.dispose());
afterAll(closeParallelFixtures);

function caseInput(c: string, files: string[]) {
  const ids = Array.from(golden.i32(`${c}.input_ids`));
  const rgb = imagesForIds(ids, files.map((f) => join(fixtureDir(NAME), f)), vision.config);
  const out = vision.model.encode(rgb);
  return { ids, rgb, images: { values: out.features, hidden: out.hidden, imageTokenId: vision.config.imageTokenId } };
}

function run(engine: Engine) {
  const tokens: Record<string, number[]> = {}, usage: Record<string, StepEvent["usage"]> = {};
  for (const e of engine.runToCompletion()) {
    (tokens[e.requestId] ??= []).push(...e.tokens.map((t) => t.token));
    if (e.finishReason) usage[e.requestId] = e.usage;
  }
  return { tokens, usage };
}

describe("images in the engine", () => {
  const one = caseInput("one_image", ["one_image.image0.png"]);
  const two = caseInput("two_images", ["two_images.image0.png", "two_images.image1.png"]);

  it.each([[512, 1], [5, 1], [512, 2], [5, 2]])(
    "golden greedy tokens in a mixed batch (prefill budget %i tokens per step, TP %i)",
    (budget, tp) => {
      const m = fixtureModel(NAME, tp);
      const cache = new KvCache(backend, m.model.config, 64, 4);
      const engine = new Engine(backend, m.model, cache, { thinkIds: null, eosId: 2, maxBatchedTokens: budget });
      engine.add({
        requestId: "one",
        promptIds: one.ids,
        images: one.images,
        maxTokens: 16,
        ignoreEos: true,
        sampler: () => greedySampler,
      });
      engine.add({
        requestId: "text",
        promptIds: prompt(9, 512, 3),
        maxTokens: 16,
        ignoreEos: true,
        sampler: () => greedySampler,
      });
      engine.add({
        requestId: "two",
        promptIds: two.ids,
        images: two.images,
        maxTokens: 16,
        ignoreEos: true,
        sampler: () => greedySampler,
      });
      const { tokens } = run(engine);
      cache.dispose();
      expect(tokens.one).toEqual(Array.from(golden.i32("one_image.greedy")));
      expect(tokens.two).toEqual(Array.from(golden.i32("two_images.greedy")));
    },
  );

  it("prefix caching keys image blocks by content", () => {
    const cache = new KvCache(backend, model.config.text, 64, 4);
    const engine = new Engine(backend, model.model, cache, { thinkIds: null, eosId: 2 });
    const keys = (rgb: typeof one.rgb) =>
      imageBlockKeys(one.ids, rgb.map(imageDigest), imageTokenIds(vision.config), 4);
    engine.add({
      requestId: "a",
      promptIds: one.ids,
      images: one.images,
      blockExtraKey: keys(one.rgb),
      maxTokens: 4,
      ignoreEos: true,
      sampler: () => greedySampler,
    });
    run(engine);
    // same ids, same picture: every full block before the last token is reused
    engine.add({
      requestId: "b",
      promptIds: one.ids,
      images: one.images,
      blockExtraKey: keys(one.rgb),
      maxTokens: 4,
      ignoreEos: true,
      sampler: () => greedySampler,
    });
    // same ids, a different picture of the same size (pixels inverted): blocks holding the image miss
    const inverted = one.rgb.map((img) => ({ ...img, rgb: img.rgb.map((v) => 255 - v) }));
    const invFeatures = vision.model.encode(inverted);
    engine.add({
      requestId: "c",
      promptIds: one.ids,
      images: { values: invFeatures.features, hidden: invFeatures.hidden, imageTokenId: 10 },
      blockExtraKey: keys(inverted),
      maxTokens: 4,
      ignoreEos: true,
      sampler: () => greedySampler,
    });
    const { tokens, usage } = run(engine);
    cache.dispose();
    const firstImageBlock = Math.floor(one.ids.indexOf(10) / 4);
    expect(usage.b!.cached_tokens).toBe(Math.floor((one.ids.length - 1) / 4) * 4);
    expect(usage.c!.cached_tokens).toBe(firstImageBlock * 4); // only the text blocks before the image
    expect(tokens.b).toEqual(Array.from(golden.i32("one_image.greedy")).slice(0, 4));
  });

  it("refuses a prompt whose [IMG] count does not match the features", () => {
    const cache = new KvCache(backend, model.config.text, 16, 4);
    const engine = new Engine(backend, model.model, cache, { thinkIds: null, eosId: 2 });
    expect(() =>
      engine.add({
        requestId: "x",
        promptIds: [1, 10, 13, 4],
        images: one.images,
        maxTokens: 2,
        sampler: () => greedySampler,
      })
    )
      .toThrow(/1 \[IMG\] tokens .* but the images give 6 feature rows/);
    cache.dispose();
  });
});
