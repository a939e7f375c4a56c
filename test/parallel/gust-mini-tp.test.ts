// gust-mini's held conversations (text, tool calls, reasoning, images) at TP 2 and TP 4 give exactly the
// greedy answers TP 1 gives. TP 4 copies gust-mini's 2 KV heads (each on two ranks); images run through the
// vision tower on rank 0 and reach the followers as rows of the step.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runOnce } from "../../runtime/engine/run-once.ts";
import type { ImageFeatures } from "../../runtime/model/image-prefill.ts";
import { type LoadedModel, loadModel } from "../../runtime/model/load-model.ts";
import { decodeImageSource } from "../../runtime/text/chat/image-size.ts";
import { openVision } from "../../runtime/vision/open-vision.ts";
import { decodePng } from "../../runtime/vision/png.ts";
import { backend } from "../helpers/engine.ts";
import { repoRoot } from "../helpers/fixtures.ts";
import { openParallel } from "../helpers/tensor-parallel.ts";

const DIR = join(repoRoot, "models", "gust-mini");
const held: {
  name: string;
  request: { messages: { content: unknown }[] };
  prompt_ids: number[];
  greedy_ids: number[] | null;
}[] = JSON.parse(readFileSync(join(DIR, "held.json"), "utf8")).entries;
const single = loadModel(DIR, backend);
const vision = openVision(single.config, backend)!;
afterAll(() => {
  vision.dispose();
  single.dispose();
});

function images(e: (typeof held)[number]): ImageFeatures | undefined {
  // deno-lint-ignore no-explicit-any
  const urls = e.request.messages.flatMap((m) => (Array.isArray(m.content) ? m.content : []) as any[])
    .filter((c) => c.type === "image_url").map((c) => c.image_url.url as string);
  if (urls.length === 0) return undefined;
  const out = vision.model.encode(urls.map((u) => decodePng(decodeImageSource(u)!)));
  return { values: out.features, hidden: out.hidden, imageTokenId: vision.config.imageTokenId };
}

function greedy(model: LoadedModel, e: (typeof held)[number]): number[] {
  const [s] = runOnce(backend, model.model, null, {
    promptIds: e.prompt_ids,
    maxTokens: e.greedy_ids?.length ?? 8,
    sampling: { temperature: 0 },
    images: images(e),
    speculativeTokens: 0,
  });
  return s.tokens.map((t) => t.token);
}

describe("gust-mini held conversations under tensor parallelism", () => {
  expect(existsSync(join(DIR, "config.json"))).toBe(true);
  const reference = new Map(held.map((e) => [e.name, greedy(single, e)]));

  it.each([2, 4])("TP %i answers every held conversation exactly as TP 1", (numRanks) => {
    const tp = openParallel(backend, DIR, numRanks);
    try {
      for (const e of held) expect(greedy(tp.loaded, e), e.name).toEqual(reference.get(e.name));
    } finally {
      tp.close();
    }
  }, 120_000);
});
