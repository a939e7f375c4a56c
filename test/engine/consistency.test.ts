// Engine self-consistency on the tiny fixtures: batching, prefix caching, chunked prefill and
// preemption must not change a single greedy token. The consistency and cancellation suites run again at
// tensor parallelism 2 (this process rank 0, one follower process), against TP 1's tokens alone.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { generate } from "../helpers/generate.ts";
import type { StepEvent } from "../../runtime/engine/request.ts";
import type { KvCacheDtype } from "../../runtime/model/kv-cache.ts";
import { backend, closeParallelFixtures, fixtureModel, greedySampler, makeEngine, prompt } from "../helpers/engine.ts";

const MODEL = "tiny-mistral3-fp8";
const vocab = 512;
let disposers: (() => void)[] = [];
afterEach(() => {
  disposers.forEach((d) => d());
  disposers = [];
});
afterAll(closeParallelFixtures);
/** Tensor-parallel size of the engines the current suite builds. */
let tensorParallel = 1;

function collect(events: StepEvent[]) {
  const tokens: Record<string, number[]> = {}, usage: Record<string, StepEvent["usage"]> = {};
  for (const e of events) {
    const key = `${e.requestId}/${e.index}`;
    (tokens[key] ??= []).push(...e.tokens.map((t) => t.token));
    if (e.finishReason) usage[key] = e.usage;
  }
  return { tokens, usage };
}

function alone(p: number[], maxTokens: number, kvDtype: KvCacheDtype = "f32"): number[] {
  return generate(backend, fixtureModel(MODEL).model, p, { maxTokens, temperature: 0, ignoreEos: true, kvDtype }).ids;
}

function engineWith(
  numBlocks: number,
  blockSize: number,
  opts: { maxBatchedTokens?: number; maxNumSeqs?: number } = {},
  kvDtype: KvCacheDtype = "f32",
) {
  const e = makeEngine(MODEL, numBlocks, blockSize, opts, tensorParallel, kvDtype);
  disposers.push(e.dispose);
  return e.engine;
}

// every KV storage (the cache's rounding is the same whichever path wrote it, so nothing may change a token), and
// TP 2 on the f32 cache
describe.each([[1, "f32"], [1, "bf16"], [1, "fp8"], [2, "f32"]] as const)(
  "engine consistency at TP %i, %s KV cache",
  (tp, kvDtype) => {
    beforeAll(() => void (tensorParallel = tp));
    it("a batch of different prompts gives each the tokens it gets alone", () => {
      const engine = engineWith(96, 4, {}, kvDtype);
      const prompts = [
        prompt(10, vocab, 1),
        prompt(31, vocab, 2),
        prompt(3, vocab, 3),
        prompt(17, vocab, 4),
        prompt(8, vocab, 5),
      ];
      prompts.forEach((p, i) =>
        engine.add({
          requestId: `r${i}`,
          promptIds: p,
          maxTokens: 10 + i,
          ignoreEos: true,
          sampler: () => greedySampler,
        })
      );
      const { tokens } = collect(engine.runToCompletion());
      prompts.forEach((p, i) => expect(tokens[`r${i}/0`], `request ${i}`).toEqual(alone(p, 10 + i, kvDtype)));
      expect(engine.blocks.numFree).toBe(96);
    });

    it("a prefix-cache hit gives the same tokens as a miss, and reports the cached tokens", () => {
      const engine = engineWith(64, 4, {}, kvDtype);
      const system = prompt(18, vocab, 7);
      const first = [...system, ...prompt(5, vocab, 8)], second = [...system, ...prompt(6, vocab, 9)];
      engine.add({ requestId: "a", promptIds: first, maxTokens: 8, ignoreEos: true, sampler: () => greedySampler });
      const a = collect(engine.runToCompletion());
      engine.add({ requestId: "b", promptIds: second, maxTokens: 8, ignoreEos: true, sampler: () => greedySampler });
      engine.add({ requestId: "a2", promptIds: first, maxTokens: 8, ignoreEos: true, sampler: () => greedySampler });
      const b = collect(engine.runToCompletion());
      expect(b.usage["b/0"]!.cached_tokens).toBe(16); // 4 full blocks of the shared 18-token system prompt
      expect(b.usage["a2/0"]!.cached_tokens).toBe(20); // all full blocks but the one holding the last token
      expect(b.tokens["b/0"]).toEqual(alone(second, 8, kvDtype));
      expect(b.tokens["a2/0"]).toEqual(a.tokens["a/0"]);
      expect(engine.blocks.checkInvariants()).toBeNull();
    });

    it("chunked prefill (5 tokens per step) equals whole prefill", () => {
      const small = engineWith(64, 4, { maxBatchedTokens: 5 }, kvDtype);
      const big = engineWith(64, 4, { maxBatchedTokens: 512 }, kvDtype);
      const prompts = [prompt(23, vocab, 11), prompt(9, vocab, 12)];
      for (const e of [small, big]) {
        prompts.forEach((p, i) =>
          e.add({ requestId: `r${i}`, promptIds: p, maxTokens: 9, ignoreEos: true, sampler: () => greedySampler })
        );
      }
      expect(collect(small.runToCompletion()).tokens).toEqual(collect(big.runToCompletion()).tokens);
    });

    it("preempted-then-resumed equals never preempted", () => {
      const tight = engineWith(13, 4, {}, kvDtype); // each request fits alone (≤ 9 blocks), three together do not
      const roomy = engineWith(64, 4, {}, kvDtype);
      const prompts = [prompt(20, vocab, 21), prompt(19, vocab, 22), prompt(14, vocab, 23)];
      for (const e of [tight, roomy]) {
        prompts.forEach((p, i) =>
          e.add({ requestId: `r${i}`, promptIds: p, maxTokens: 14, ignoreEos: true, sampler: () => greedySampler })
        );
      }
      const t = collect(tight.runToCompletion()), r = collect(roomy.runToCompletion());
      expect(Object.values(t.usage).reduce((n, u) => n + u!.preemptions, 0)).toBeGreaterThan(0);
      expect(t.tokens).toEqual(r.tokens);
      expect(tight.blocks.numFree).toBe(13);
    });

    it("n samples of one prompt share its full prompt blocks", () => {
      const engine = engineWith(64, 4, {}, kvDtype);
      const p = prompt(13, vocab, 31);
      engine.add({ requestId: "n", promptIds: p, maxTokens: 6, ignoreEos: true, n: 3, sampler: () => greedySampler });
      const { tokens, usage } = collect(engine.runToCompletion());
      const want = alone(p, 6, kvDtype);
      for (let i = 0; i < 3; i++) expect(tokens[`n/${i}`]).toEqual(want);
      expect(usage["n/0"]!.cached_tokens).toBe(0);
      expect(usage["n/1"]!.cached_tokens).toBe(12);
      expect(usage["n/2"]!.cached_tokens).toBe(12);
    });

    it("stops at the end-of-sequence id unless told to ignore it", () => {
      const engine = engineWith(64, 4, {}, kvDtype);
      const p = prompt(6, vocab, 41);
      const first = alone(p, 3, kvDtype);
      engine.add({ requestId: "s", promptIds: p, maxTokens: 10, stopIds: [first[1]], sampler: () => greedySampler });
      const { tokens, usage } = collect(engine.runToCompletion());
      expect(tokens["s/0"]).toEqual(first.slice(0, 2));
      expect(usage["s/0"]!.completion_tokens).toBe(2);
    });
  },
);

describe("engine refusals", () => {
  beforeAll(() => void (tensorParallel = 1));
  it("refuses requests that can never fit, with the numbers", () => {
    const engine = engineWith(4, 4);
    expect(() =>
      engine.add({ requestId: "big", promptIds: prompt(10, vocab, 1), maxTokens: 10, sampler: () => greedySampler })
    )
      .toThrow(/Cannot schedule request big: it needs 5 KV blocks \(20 tokens of 4\), the whole pool has 4/);
    expect(() =>
      engine.add({ requestId: "long", promptIds: prompt(250, vocab, 1), maxTokens: 10, sampler: () => greedySampler })
    )
      .toThrow(/exceeds the context of 256; lower max_tokens to at most 6/);
    expect(() => engine.add({ requestId: "bad", promptIds: [1, 600], maxTokens: 1, sampler: () => greedySampler }))
      .toThrow(/Prompt token 1 is 600, outside the vocabulary \[0, 512\)/);
    expect(() =>
      engine.add({ requestId: "b2", promptIds: [1], maxTokens: 1, reasoningBudget: -1, sampler: () => greedySampler })
    )
      .toThrow(/reasoning budget must be a non-negative integer/);
    expect(engine.hasWork).toBe(false);
  });
});

describe.each([1, 2])("cancellation at TP %i", (tp) => {
  beforeAll(() => void (tensorParallel = tp));
  it("an abort takes effect at the next step and returns every block", () => {
    const engine = engineWith(40, 4);
    engine.add({
      requestId: "keep",
      promptIds: prompt(9, vocab, 51),
      maxTokens: 12,
      ignoreEos: true,
      sampler: () => greedySampler,
    });
    engine.add({
      requestId: "drop",
      promptIds: prompt(15, vocab, 52),
      maxTokens: 12,
      ignoreEos: true,
      sampler: () => greedySampler,
    });
    const events: StepEvent[] = [];
    for (let i = 0; i < 3; i++) events.push(...engine.step());
    expect(engine.blocks.numUsed).toBeGreaterThan(0);
    expect(engine.abort("drop")).toBe(true);
    expect(engine.abort("nope")).toBe(false);
    const next = engine.step();
    const dropEnd = next.find((e) => e.requestId === "drop")!;
    expect(dropEnd.finishReason).toBe("abort");
    expect(dropEnd.tokens).toEqual([]);
    expect(next.filter((e) => e.requestId === "keep" && e.tokens.length === 1)).toHaveLength(1);
    events.push(...next, ...engine.runToCompletion());
    const kept = collect(events).tokens["keep/0"];
    expect(kept).toEqual(alone(prompt(9, vocab, 51), 12)); // the other request lost nothing
    expect(engine.blocks.numFree).toBe(40);
  });

  it("a deadline is an abort on a timer", () => {
    let now = 1000;
    const e = makeEngine(MODEL, 40, 4, { now: () => now }, tensorParallel);
    disposers.push(e.dispose);
    e.engine.add({
      requestId: "late",
      promptIds: prompt(5, vocab, 61),
      maxTokens: 50,
      ignoreEos: true,
      deadline: 1500,
      sampler: () => greedySampler,
    });
    const first = e.engine.step();
    expect(first[0].tokens).toHaveLength(1);
    now = 1500;
    const second = e.engine.step();
    expect(second[0].finishReason).toBe("abort");
    expect(second[0].usage!.completion_tokens).toBe(1);
    expect(e.engine.hasWork).toBe(false);
    expect(e.engine.blocks.numFree).toBe(40);
  });
});

describe("seeded sampling through the engine", () => {
  beforeAll(() => void (tensorParallel = 1));
  it("the same seed gives the same tokens alone, inside a batch, and after preemption", async () => {
    const { samplerFactory } = await import("../../runtime/sampling/sampler-factory.ts");
    const params = { temperature: 0.9, topP: 0.95, seed: 1234 };
    const target = prompt(12, vocab, 71);
    const run = (numBlocks: number, others: number) => {
      const engine = engineWith(numBlocks, 4);
      engine.add({
        requestId: "t",
        promptIds: target,
        maxTokens: 15,
        ignoreEos: true,
        sampler: samplerFactory(params, vocab, target),
      });
      for (let i = 0; i < others; i++) {
        const p = prompt(10 + i, vocab, 80 + i);
        engine.add({
          requestId: `o${i}`,
          promptIds: p,
          maxTokens: 15,
          ignoreEos: true,
          sampler: samplerFactory({ temperature: 1, seed: i }, vocab, p),
        });
      }
      return collect(engine.runToCompletion());
    };
    const aloneRun = run(64, 0), batched = run(64, 4), tight = run(16, 3);
    expect(batched.tokens["t/0"]).toEqual(aloneRun.tokens["t/0"]);
    expect(Object.values(tight.usage).reduce((n, u) => n + u!.preemptions, 0)).toBeGreaterThan(0);
    expect(tight.tokens["t/0"]).toEqual(aloneRun.tokens["t/0"]);
    const greedyIds = alone(target, 15);
    expect(aloneRun.tokens["t/0"]).not.toEqual(greedyIds); // it really sampled
  });
});
