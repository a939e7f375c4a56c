// EAGLE speculation inside the engine: greedy output token-for-token equal to plain decoding for
// k = 1..5, alone and in mixed batches; budgets, stops and aborts inside accepted runs behave as without
// speculation; rejected positions give their KV blocks back.
import { afterAll, describe, expect, it } from "vitest";
import { loadDraft } from "../../runtime/eagle/load-draft.ts";
import { DraftState } from "../../runtime/eagle/draft-state.ts";
import { defaultSpecOptions, Speculator } from "../../runtime/eagle/speculator.ts";
import { Engine } from "../../runtime/engine/engine.ts";
import type { StepEvent } from "../../runtime/engine/request.ts";
import { samplerFactory } from "../../runtime/sampling/sampler-factory.ts";
import { KvCache } from "../../runtime/model/kv-cache.ts";
import { fixtureDir } from "../helpers/fixtures.ts";
import { backend, fixtureModel, prompt } from "../helpers/engine.ts";

const target = fixtureModel("tiny-mistral3-fp8");
const draft = loadDraft(fixtureDir("tiny-mistral3-eagle"), backend, target);
afterAll(() => draft.dispose());
const V = 512;

function engineFor(k: number | null, opts: { numBlocks?: number; maxBatch?: number; minTokensPerStep?: number } = {}) {
  const numBlocks = opts.numBlocks ?? 96;
  const cache = new KvCache(backend, target.config.text, numBlocks, 4);
  const speculator = k === null ? undefined : new Speculator(backend, target, draft, numBlocks + 8, 4, {
    ...defaultSpecOptions,
    k,
    maxBatch: opts.maxBatch ?? 16,
    minTokensPerStep: opts.minTokensPerStep ?? 0,
  });
  const engine = new Engine(backend, target.model, cache, {
    thinkIds: { think: 34, endThink: 35 },
    eosId: 2,
    speculator,
  });
  return {
    engine,
    dispose: () => {
      cache.dispose();
      speculator?.dispose();
    },
  };
}

function run(engine: Engine, requests: { id: string; prompt: number[]; max: number; extra?: object }[]) {
  for (const r of requests) {
    engine.add({
      requestId: r.id,
      promptIds: r.prompt,
      maxTokens: r.max,
      ignoreEos: true,
      sampler: samplerFactory({ temperature: 0 }, V, r.prompt),
      ...r.extra,
    });
  }
  const tokens: Record<string, number[]> = {},
    usage: Record<string, StepEvent["usage"]> = {},
    finish: Record<string, string> = {};
  for (const e of engine.runToCompletion()) {
    (tokens[e.requestId] ??= []).push(...e.tokens.map((t) => t.token));
    if (e.finishReason) {
      usage[e.requestId] = e.usage;
      finish[e.requestId] = e.finishReason;
    }
  }
  return { tokens, usage, finish };
}

const requests = Array.from(
  { length: 6 },
  (_, i) => ({ id: `r${i}`, prompt: prompt(6 + 5 * i, V, 40 + i), max: 20 + i }),
);

describe("speculative decoding (greedy)", () => {
  const plain = (() => {
    const e = engineFor(null);
    const out = run(e.engine, requests);
    e.dispose();
    return out;
  })();

  it.each([1, 2, 3, 4, 5])("k = %i gives the same tokens as plain decoding, alone and batched", (k) => {
    const alone = engineFor(k);
    for (const r of requests.slice(0, 3)) {
      expect(run(alone.engine, [r]).tokens[r.id], `${r.id} alone`).toEqual(plain.tokens[r.id]);
    }
    expect(alone.engine.blocks.numFree).toBe(96);
    alone.dispose();
    const batched = engineFor(k);
    const out = run(batched.engine, requests);
    expect(out.tokens).toEqual(plain.tokens);
    const spec = Object.values(out.usage).map((u) => u!.spec!);
    expect(spec.reduce((n, s) => n + s.drafted, 0)).toBeGreaterThan(0);
    for (const s of spec) expect(s.accepted).toBeLessThanOrEqual(s.drafted);
    expect(batched.engine.blocks.checkInvariants()).toBeNull();
    expect(batched.engine.blocks.numFree).toBe(96);
    batched.dispose();
  });

  it("speculation off above the batch threshold and per request gives the same tokens", () => {
    const e = engineFor(3, { maxBatch: 2 });
    const out = run(e.engine, [...requests.slice(0, 4).map((r) => ({ ...r })), {
      ...requests[4],
      extra: { speculativeTokens: 0 },
    }]);
    for (const r of requests.slice(0, 5)) expect(out.tokens[r.id]).toEqual(plain.tokens[r.id]);
    expect(out.usage.r4!.spec!.drafted).toBe(0);
    expect(out.usage.r4!.spec!.off_reason).toMatch(/disabled for this request/);
    e.dispose();
  });

  it("a sequence below break-even stops speculating and still decodes the same tokens", () => {
    const e = engineFor(3, { minTokensPerStep: 100 });
    const out = run(e.engine, [requests[2]]);
    expect(out.tokens.r2).toEqual(plain.tokens.r2);
    expect(out.usage.r2!.spec!.off_reason).toMatch(/below break-even/);
    expect(out.usage.r2!.spec!.target_steps).toBe(defaultSpecOptions.warmupSteps);
    e.dispose();
  });

  it("reasoning budgets, stop tokens, max_tokens and preemption behave exactly as without speculation", () => {
    const thinkPrompt = [...prompt(7, V, 77), 34];
    const stopAt = plain.tokens.r1[5];
    const cases = [
      { id: "budget", prompt: thinkPrompt, max: 24, extra: { reasoningBudget: 3 } },
      { id: "stop", prompt: requests[1].prompt, max: 30, extra: { stopIds: [stopAt], ignoreEos: false } },
      { id: "short", prompt: requests[3].prompt, max: 2 },
    ];
    const base = engineFor(null), fast = engineFor(4);
    const a = run(base.engine, cases), b = run(fast.engine, cases);
    expect(b.tokens).toEqual(a.tokens);
    expect(b.finish).toEqual(a.finish);
    expect(b.usage.budget!.reasoning_tokens).toBeLessThanOrEqual(3);
    expect(b.tokens.budget.slice(0, 4)).toContain(35);
    base.dispose();
    fast.dispose();
    const tight = engineFor(3, { numBlocks: 20 }); // forces preemption of speculating sequences
    const t = run(tight.engine, requests.slice(0, 4));
    for (const r of requests.slice(0, 4)) expect(t.tokens[r.id]).toEqual(plain.tokens[r.id]);
    expect(Object.values(t.usage).reduce((n, u) => n + u!.preemptions, 0)).toBeGreaterThan(0);
    expect(tight.engine.blocks.numFree).toBe(20);
    tight.dispose();
  });

  it("an abort mid-run frees target and draft blocks", () => {
    const e = engineFor(3);
    e.engine.add({
      requestId: "x",
      promptIds: requests[5].prompt,
      maxTokens: 40,
      ignoreEos: true,
      sampler: samplerFactory({ temperature: 0 }, V, requests[5].prompt),
    });
    e.engine.step();
    e.engine.step();
    e.engine.abort("x");
    const ev = e.engine.step();
    expect(ev[0].finishReason).toBe("abort");
    expect(e.engine.blocks.numFree).toBe(96);
    expect((e.engine.options.speculator as Speculator).blocks.numFree).toBe(104);
    e.dispose();
  });
});

describe("speculative decoding with an oracle draft (exercises acceptance and rollback)", () => {
  // A proposer that knows a greedy continuation and lies at chosen rounds: drafts are accepted except
  // the planted mistakes, so accepted runs, bonus tokens, rollbacks and cut runs all happen.
  function oracle(truth: Record<string, number[]>, k: number) {
    const states = new Map<unknown, DraftState>();
    let round = 0;
    const state = (seq: unknown) => {
      if (!states.has(seq)) states.set(seq, new DraftState());
      return states.get(seq)!;
    };
    return {
      options: { ...defaultSpecOptions, k, minTokensPerStep: 0 },
      state,
      released: () => {},
      pushHidden: () => {},
      catchUp: () => {},
      recordRound(seq: unknown, drafted: number, accepted: number, emitted: number) {
        const s = state(seq).stats;
        s.drafted += drafted;
        s.accepted += accepted;
        s.steps++;
        s.emitted += emitted;
      },
      propose(seqs: { requestId: string; numOutputTokens: number }[], kk: number) {
        round++;
        return new Map(seqs.map((seq) => {
          const t = truth[seq.requestId].slice(seq.numOutputTokens, seq.numOutputTokens + kk);
          while (t.length < kk) t.push(7);
          if (round % 3 === 0 && t.length > 1) t[1] = (t[1] + 1) % V; // a planted mistake
          return [seq, { drafts: t, probs: t.map(() => null) }];
        }));
      },
    };
  }

  it.each([2, 4])("k = %i: accepted runs and rollbacks reproduce plain greedy decoding", (k) => {
    const plainEngine = engineFor(null);
    const plainOut = run(plainEngine.engine, requests);
    plainEngine.dispose();
    const cache = new KvCache(backend, target.config.text, 96, 4);
    const engine = new Engine(backend, target.model, cache, {
      thinkIds: null,
      eosId: 2,
      speculator: oracle(plainOut.tokens, k) as never,
    });
    const out = run(engine, requests);
    expect(out.tokens).toEqual(plainOut.tokens);
    const spec = Object.values(out.usage).map((u) => u!.spec!);
    const accepted = spec.reduce((n, s) => n + s.accepted, 0), drafted = spec.reduce((n, s) => n + s.drafted, 0);
    expect(accepted).toBeGreaterThan(drafted / 2);
    expect(accepted).toBeLessThan(drafted);
    for (const s of spec) expect(s.tokens_per_step).toBeGreaterThan(1.5);
    expect(engine.blocks.checkInvariants()).toBeNull();
    expect(engine.blocks.numFree).toBe(96);
    cache.dispose();
  });

  it("a forced [/THINK] cuts an accepted run exactly where plain decoding forces it", () => {
    const thinkPrompt = [...prompt(9, V, 91), 34];
    const free = engineFor(null), budgeted = engineFor(null);
    // the oracle proposes what the model says without a budget, so an accepted run crosses the budget
    const unbounded = run(free.engine, [{ id: "t", prompt: thinkPrompt, max: 24 }]).tokens;
    const want = run(budgeted.engine, [{ id: "t", prompt: thinkPrompt, max: 24, extra: { reasoningBudget: 5 } }]);
    free.dispose();
    budgeted.dispose();
    const cache = new KvCache(backend, target.config.text, 96, 4);
    const engine = new Engine(backend, target.model, cache, {
      thinkIds: { think: 34, endThink: 35 },
      eosId: 2,
      speculator: oracle(unbounded, 4) as never,
    });
    const got = run(engine, [{ id: "t", prompt: thinkPrompt, max: 24, extra: { reasoningBudget: 5 } }]);
    expect(got.tokens.t).toEqual(want.tokens.t);
    expect(got.tokens.t[5]).toBe(35);
    expect(got.usage.t!.reasoning_tokens).toBe(5);
    expect(got.usage.t!.budget_exhausted).toBe(true);
    expect(engine.blocks.numFree).toBe(96);
    cache.dispose();
  });
});

describe("speculation with prefix caching", () => {
  it("a prompt served from the prefix cache keeps speculating, with the draft KV it would have computed", () => {
    const cache = new KvCache(backend, target.config.text, 96, 4);
    const spec = new Speculator(backend, target, draft, 104, 4, { ...defaultSpecOptions, k: 3, minTokensPerStep: 0 });
    const proposals: Record<string, number[][]> = {};
    const propose = spec.propose.bind(spec);
    spec.propose = (seqs, k) => {
      const out = propose(seqs, k);
      for (const [seq, p] of out) (proposals[seq.requestId] ??= []).push(p.drafts);
      return out;
    };
    const engine = new Engine(backend, target.model, cache, { thinkIds: null, eosId: 2, speculator: spec });
    const p = prompt(23, V, 123);
    const first = run(engine, [{ id: "a", prompt: p, max: 12 }]);
    const second = run(engine, [{ id: "b", prompt: p, max: 12 }]);
    expect(second.usage.b!.cached_tokens).toBe(20);
    expect(second.usage.b!.spec!.off_reason).toBeNull();
    expect(second.usage.b!.spec!.drafted).toBeGreaterThan(0);
    expect(second.tokens.b).toEqual(first.tokens.a);
    expect(proposals.b).toEqual(proposals.a); // the adopted draft blocks hold exactly what a fresh catch-up computes
    cache.dispose();
    spec.dispose();
  });
});
