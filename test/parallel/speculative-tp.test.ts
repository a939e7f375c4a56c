// EAGLE under tensor parallelism 2: the draft is sharded like its target (same communicator, its steps
// mirrored to the follower), and speculative greedy output equals plain greedy output at TP 1.
import { afterAll, describe, expect, it } from "vitest";
import { defaultSpecOptions, Speculator } from "../../runtime/eagle/speculator.ts";
import { Engine } from "../../runtime/engine/engine.ts";
import { samplerFactory } from "../../runtime/sampling/sampler-factory.ts";
import { KvCache } from "../../runtime/model/kv-cache.ts";
import type { LoadedModel } from "../../runtime/model/load-model.ts";
import type { LoadedDraft } from "../../runtime/eagle/load-draft.ts";
import { backend, fixtureModel, prompt } from "../helpers/engine.ts";
import { fixtureDir } from "../helpers/fixtures.ts";
import { openParallel } from "../helpers/tensor-parallel.ts";

const V = 512, NUM_BLOCKS = 96;
const tp = openParallel(backend, fixtureDir("tiny-mistral3-fp8"), 2, fixtureDir("tiny-mistral3-eagle"));
afterAll(() => tp.close());

function run(target: LoadedModel, draft: LoadedDraft | null, k: number) {
  const cache = new KvCache(backend, target.model.config, NUM_BLOCKS, 4);
  const speculator = draft
    ? new Speculator(backend, target, draft, NUM_BLOCKS + 8, 4, { ...defaultSpecOptions, k, minTokensPerStep: 0 })
    : undefined;
  const engine = new Engine(backend, target.model, cache, {
    thinkIds: { think: 34, endThink: 35 },
    eosId: 2,
    speculator,
  });
  const requests = Array.from({ length: 4 }, (_, i) => ({ id: `r${i}`, prompt: prompt(6 + 5 * i, V, 40 + i) }));
  for (const r of requests) {
    engine.add({
      requestId: r.id,
      promptIds: r.prompt,
      maxTokens: 18,
      ignoreEos: true,
      sampler: samplerFactory({ temperature: 0 }, V, r.prompt),
    });
  }
  const tokens: Record<string, number[]> = {};
  let drafted = 0;
  for (const e of engine.runToCompletion()) {
    (tokens[e.requestId] ??= []).push(...e.tokens.map((t) => t.token));
    if (e.finishReason) drafted += e.usage?.spec?.drafted ?? 0;
  }
  const free = engine.blocks.numFree;
  cache.dispose();
  speculator?.dispose();
  return { tokens, drafted, free };
}

describe("EAGLE at TP 2", () => {
  const plain = run(fixtureModel("tiny-mistral3-fp8"), null, 0);

  it.each([1, 3])("k = %i: speculative greedy at TP 2 ≡ plain greedy at TP 1, batched", (k) => {
    const out = run(tp.loaded, tp.draft, k);
    expect(out.drafted).toBeGreaterThan(0);
    expect(out.tokens).toEqual(plain.tokens);
    expect(out.free).toBe(NUM_BLOCKS);
  });
});
