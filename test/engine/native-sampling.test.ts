// The engine's two sampling paths held equal: "native" (logits stay in the backend's buffer, one gust_sample call
// per step, grammar and tool-call masks as bitmasks, forced tokens as one-id draws) and "typescript" (the spec:
// logits downloaded, sampler.ts per row). The same seeds give the same tokens and the same log-probabilities (bit
// for bit) across the sampler suite's parameter cases, batched, with n > 1, reasoning budgets, padding ids, JSON and
// tool-call constraints, and EAGLE speculation (verified natively, no row downloaded); the engine's native picking follows the softmax (χ² at 0.999) on
// 8- to 131,072-token rows.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { loadDraft } from "../../runtime/eagle/load-draft.ts";
import { defaultSpecOptions, Speculator } from "../../runtime/eagle/speculator.ts";
import { Engine } from "../../runtime/engine/engine.ts";
import { DeviceLogitRows, type SamplingPath } from "../../runtime/engine/logit-rows.ts";
import type { StepEvent } from "../../runtime/engine/request.ts";
import { KvCache } from "../../runtime/model/kv-cache.ts";
import { JsonConstraints } from "../../runtime/sampling/constraints.ts";
import { NativeSampler } from "../../runtime/sampling/native-sampler.ts";
import type { SamplingParams } from "../../runtime/sampling/params.ts";
import { samplerFactory } from "../../runtime/sampling/sampler-factory.ts";
import type { TokenSampler } from "../../runtime/sampling/token-sampler.ts";
import { loadTokenizer } from "../../runtime/text/index.ts";
import type { Tokenizer } from "../../runtime/text/tokenizer.ts";
import { backend, fixtureModel, makeEngine, prompt } from "../helpers/engine.ts";
import { fixtureDir } from "../helpers/fixtures.ts";
import { CHI2_999, chiSquare, softmax } from "../sampling/reference.ts";

const MODEL = "tiny-mistral3-fp8", V = 512, THINK = 34;

interface Req {
  id: string;
  promptIds: number[];
  maxTokens: number;
  n?: number;
  reasoningBudget?: number;
  sampler: (index: number) => TokenSampler;
}

/** Every event of a run, with each token's id, log-probability and top log-probabilities. */
function run(
  sampling: SamplingPath,
  requests: (() => Req)[],
  engineFor: (s: SamplingPath) => { engine: Engine; dispose: () => void } = (s) =>
    makeEngine(MODEL, 96, 4, { sampling: s }),
) {
  const { engine, dispose } = engineFor(sampling);
  try {
    for (const make of requests) {
      const r = make();
      engine.add({
        requestId: r.id,
        promptIds: r.promptIds,
        maxTokens: r.maxTokens,
        n: r.n,
        reasoningBudget: r.reasoningBudget,
        sampler: r.sampler,
      });
    }
    return engine.runToCompletion().map(({ usage: _, ...e }) => e);
  } finally {
    dispose();
  }
}

/** Equal events, log-probabilities compared with Object.is (NaN for "not asked" included). */
function expectSame(native: Omit<StepEvent, "usage">[], spec: Omit<StepEvent, "usage">[]) {
  expect(native.length).toBe(spec.length);
  expect(JSON.stringify(native)).toBe(JSON.stringify(spec));
  native.forEach((e, i) =>
    e.tokens.forEach((t, j) =>
      expect(Object.is(t.logprob, spec[i].tokens[j].logprob), `event ${i} token ${j}`).toBe(true)
    )
  );
}

const CASES: SamplingParams[] = [
  { temperature: 0 },
  { temperature: 0, logprobs: 0 },
  { temperature: 1 },
  { temperature: 0.7, topP: 0.9, logprobs: 3 },
  { temperature: 1.3, topK: 5 },
  { temperature: 0.9, minP: 0.1, logprobs: 2 },
  { temperature: 1, presencePenalty: 0.5, frequencyPenalty: 0.3, repetitionPenalty: 1.2 },
  { temperature: 1, logitBias: { 40: 3, 41: -2, 300: 5 }, logprobs: 1 },
  { temperature: 1.5, topK: 40, topP: 0.95, minP: 0.02, repetitionPenalty: 0.9, logprobs: 4 },
];

function plain(params: SamplingParams, seed: number): (() => Req)[] {
  return [0, 1, 2].map((i) => () => {
    const promptIds = prompt(5 + 3 * i, V, seed + i);
    // the third request thinks with a budget of 2: the engine forces [/THINK] (34 opened at the prompt's end)
    if (i === 2) promptIds.push(THINK);
    return {
      id: `r${i}`,
      promptIds,
      maxTokens: 10,
      n: i === 1 ? 2 : 1,
      ...(i === 2 ? { reasoningBudget: 2 } : {}),
      sampler: samplerFactory({ ...params, seed: seed * 10 + i }, V, promptIds),
    };
  });
}

describe("the engine on the native sampler ≡ on the TypeScript spec", () => {
  it.each(CASES)("same tokens and log-probabilities for the same seeds, batched (%j)", (params) => {
    for (const seed of [1, 2]) expectSame(run("native", plain(params, seed)), run("typescript", plain(params, seed)));
  });

  it("holds with padding ids beyond the tokenizer (vocabulary limit)", () => {
    const m = fixtureModel(MODEL);
    m.model.limitVocab(300);
    try {
      const params = { temperature: 1.2, logprobs: 5 };
      const native = run("native", plain(params, 3)), spec = run("typescript", plain(params, 3));
      expectSame(native, spec);
      for (const e of native) for (const t of e.tokens) expect(t.token).toBeLessThan(300);
    } finally {
      m.model.limitVocab(V);
    }
  });

  describe("grammar and tool-call masks (bitmasks on the native path)", () => {
    let tok: Tokenizer, constraints: JsonConstraints;
    beforeAll(async () => {
      tok = await loadTokenizer(fixtureDir(MODEL));
      constraints = new JsonConstraints(tok);
    });
    const json = (seed: number, budget: number | undefined) => () => {
      const promptIds = [1, 3, ...tok.encode("Answer in JSON."), 4];
      const base = samplerFactory(
        // seed 1 leans towards opening [THINK] first (the start phase's own allowed id)
        { temperature: 1, seed, logprobs: 2, logitBias: seed === 1 ? { [THINK]: 6 } : {} },
        V,
        promptIds,
      );
      return {
        id: `j${seed}`,
        promptIds,
        maxTokens: 40,
        reasoningBudget: budget,
        sampler: constraints.wrap(base, promptIds, budget !== 0),
      };
    };
    const tools = (seed: number) => () => {
      const promptIds = [1, 3, ...tok.encode("Call a tool."), 4];
      const base = samplerFactory({ temperature: 1, seed }, V, promptIds);
      const tool = { name: "get_time", parameters: { type: "object", properties: { zone: { enum: ["UTC", "CET"] } } } };
      return {
        id: `t${seed}`,
        promptIds,
        maxTokens: 60,
        sampler: constraints.wrapToolCalls(base, promptIds, false, { tools: [tool], parallel: true }),
      };
    };
    it("JSON documents (with and without thinking) and required tool calls: same tokens", () => {
      const reqs = [json(1, undefined), json(2, 3), json(3, 0), tools(4), tools(5)];
      const native = run("native", reqs);
      expectSame(native, run("typescript", reqs));
      expect(native.flatMap((e) => e.tokens).length).toBeGreaterThan(50);
    });
  });

  describe("EAGLE speculation", () => {
    const target = fixtureModel(MODEL);
    const draft = loadDraft(fixtureDir("tiny-mistral3-eagle"), backend, target);
    afterAll(() => draft.dispose());
    const speculating = (k: number) => (sampling: SamplingPath) => {
      const cache = new KvCache(backend, target.config.text, 96, 4);
      const speculator = new Speculator(backend, target, draft, 104, 4, {
        ...defaultSpecOptions,
        k,
        maxBatch: 16,
        minTokensPerStep: 0,
      });
      const engine = new Engine(backend, target.model, cache, {
        thinkIds: { think: 34, endThink: 35 },
        eosId: 2,
        speculator,
        sampling,
      });
      return { engine, dispose: () => (cache.dispose(), speculator.dispose()) };
    };
    /** Each sample's tokens (speculation emits several per event, so events interleave differently). */
    const perSample = (events: Omit<StepEvent, "usage">[]) => {
      const out: Record<string, number[]> = {};
      for (const e of events) (out[`${e.requestId}/${e.index}`] ??= []).push(...e.tokens.map((t) => t.token));
      return out;
    };
    it("greedy speculation on the native path gives plain greedy decoding's tokens (TypeScript path, no drafts)", () => {
      const reqs = plain({ temperature: 0 }, 4);
      const plainSpec = perSample(run("typescript", reqs));
      for (const k of [1, 3]) expect(perSample(run("native", reqs, speculating(k)))).toEqual(plainSpec);
    });
    it("speculative sampling (and greedy with log-probabilities) gives the same tokens on both paths", () => {
      for (const params of [{ temperature: 0.8 }, { temperature: 0, logprobs: 2 }, { temperature: 1, topP: 0.9 }]) {
        const reqs = plain(params, 5);
        expectSame(run("native", reqs, speculating(3)), run("typescript", reqs, speculating(3)));
      }
    });
    it("speculative sampling on the native path verifies natively: no logit row comes to the host", () => {
      const row = vi.spyOn(DeviceLogitRows.prototype, "row"), verify = vi.spyOn(DeviceLogitRows.prototype, "verify");
      try {
        const native = run("native", plain({ temperature: 0.8 }, 6), speculating(3));
        expect(native.flatMap((e) => e.tokens).length).toBeGreaterThan(20);
        expect(verify).toHaveBeenCalled();
        expect(row).not.toHaveBeenCalled();
      } finally {
        row.mockRestore();
        verify.mockRestore();
      }
    });
  });
});

describe("the engine's native picking follows the softmax (χ² at 0.999)", () => {
  it.each([8, 4096, 131_072])("over %i tokens, one pick per step of many requests", (size) => {
    // alternate logits 0 and ln 3 so each bin (id mod 16) holds the same mass whatever the size
    const logits = Float32Array.from({ length: size }, (_, i) => (i % 2 === 0 ? 0 : Math.log(3)));
    const bins = Math.min(16, size), counts = new Array(bins).fill(0);
    const native = new NativeSampler(backend, size);
    using row = backend.borrowHost(logits);
    const rows = new DeviceLogitRows(native, backend, row, 1, size, size);
    const draws = size > 10_000 ? 1600 : 16_000, batch = 400;
    for (let start = 0; start < draws; start += batch) {
      const requests = Array.from({ length: batch }, (_, j) => ({
        sampler: samplerFactory({ seed: start + j }, size, [])(0),
        generatedIds: [],
        step: 0,
        row: 0,
        forced: null,
      }));
      for (const { token } of rows.pick(requests)) counts[token % bins]++;
    }
    const probs = softmax(Array.from(logits));
    const binProbs = counts.map((_, b) => probs.reduce((a, p, i) => (i % bins === b ? a + p : a), 0));
    expect(chiSquare(counts, binProbs, counts.map((_, b) => b))).toBeLessThan(CHI2_999[bins - 1]);
    native.dispose();
  }, 300_000);
});
