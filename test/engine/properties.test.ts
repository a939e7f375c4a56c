// Seeded property tests of the block manager, the scheduler and the reasoning budget, with many
// random iterations. The scheduler tests run the real scheduler and block manager, without a model:
// "computing" a chunk just advances numComputed, as the engine does after a forward.
import { describe, expect, it } from "vitest";
import { BlockManager } from "../../runtime/engine/block-manager.ts";
import { ReasoningBudget } from "../../runtime/engine/reasoning-budget.ts";
import { Scheduler } from "../../runtime/engine/scheduler.ts";
import { Sequence } from "../../runtime/engine/sequence.ts";
import { Rng } from "../../runtime/sampling/rng.ts";
import { greedySampler } from "../helpers/engine.ts";

const THINK = { think: 34, endThink: 35 };
let nextId = 0;
function seq(tokens: number[], maxTokens = 8, priority = 0): Sequence {
  return new Sequence(
    nextId++,
    `r${nextId}`,
    tokens,
    tokens.length,
    { maxTokens, stopIds: new Set() },
    greedySampler,
    new ReasoningBudget(null, null, tokens),
    priority,
    nextId,
  );
}
const rint = (rng: Rng, lo: number, hi: number) => lo + Math.floor(rng.nextFloat() * (hi - lo + 1));

describe("block manager properties", () => {
  it("keeps free + used = total, refcounts ≥ 0, and exact block counts over random operations", () => {
    const rng = new Rng(1);
    for (let round = 0; round < 40; round++) {
      const bs = rint(rng, 1, 6), bm = new BlockManager(rint(rng, 8, 40), bs);
      const live: Sequence[] = [];
      const shared = Array.from({ length: rint(rng, 0, 12) }, () => rint(rng, 0, 9));
      for (let op = 0; op < 200; op++) {
        const r = rng.nextFloat();
        if (r < 0.4) {
          const s = seq([
            ...shared.slice(0, rint(rng, 0, shared.length)),
            ...Array.from({ length: rint(rng, 1, 10) }, () => rint(rng, 0, 9)),
          ]);
          if (bm.allocate(s)) {
            expect(s.blockTable.length).toBe(Math.ceil(s.numTokens / bs));
            expect(s.numComputed % bs).toBe(0);
            expect(s.numComputed).toBeLessThan(s.numTokens); // the last token is always computed
            s.numComputed = s.numTokens;
            bm.registerComputed(s);
            live.push(s);
          }
        } else if (r < 0.7 && live.length > 0) {
          const s = live[rint(rng, 0, live.length - 1)];
          const add = rint(rng, 1, 5);
          if (bm.grow(s, add)) {
            for (let i = 0; i < add; i++) s.tokens.push(rint(rng, 0, 9));
            s.numComputed = s.numTokens;
            bm.registerComputed(s);
          }
          expect(s.blockTable.length).toBe(Math.ceil(s.numComputed / bs)); // holds exactly what its tokens need
        } else if (live.length > 0) {
          const s = live.splice(rint(rng, 0, live.length - 1), 1)[0];
          bm.release(s);
          expect(s.blockTable).toEqual([]);
        }
        expect(bm.checkInvariants()).toBeNull();
      }
      for (const s of live) bm.release(s);
      expect(bm.numFree).toBe(bm.numBlocks);
    }
  });

  it("never lets two live sequences write the same block unless it is a shared, computed prefix block", () => {
    const bm = new BlockManager(16, 4);
    const a = seq([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(bm.allocate(a)).toBe(true);
    a.numComputed = 9;
    bm.registerComputed(a);
    const b = seq([1, 2, 3, 4, 5, 6, 7, 8, 10, 11]);
    expect(bm.allocate(b)).toBe(true);
    expect(b.blockTable.slice(0, 2)).toEqual(a.blockTable.slice(0, 2)); // two shared full blocks
    expect(bm.refCount(a.blockTable[0])).toBe(2);
    expect(b.blockTable[2]).not.toBe(a.blockTable[2]);
    bm.release(a);
    expect(bm.refCount(b.blockTable[0])).toBe(1);
  });
});

describe("scheduler properties", () => {
  it("never exceeds its budgets, runs every waiting sequence eventually, and aborts leave the pool full", () => {
    const rng = new Rng(2);
    for (let round = 0; round < 30; round++) {
      const bs = rint(rng, 2, 8), numBlocks = rint(rng, 12, 60);
      const bm = new BlockManager(numBlocks, bs);
      const config = { maxNumSeqs: rint(rng, 1, 6), maxBatchedTokens: rint(rng, 4, 40), agingSteps: rint(rng, 2, 20) };
      const sched = new Scheduler(config, bm);
      const all: Sequence[] = [];
      const abortAt = new Map<Sequence, number>();
      for (let i = 0; i < rint(rng, 3, 14); i++) {
        const maxTokens = rint(rng, 1, 12);
        let len = rint(rng, 1, 30);
        while (Math.ceil((len + maxTokens) / bs) > numBlocks) len--; // the engine refuses what can never fit
        if (len < 1) continue;
        const s = seq(Array.from({ length: len }, () => rint(rng, 0, 5)), maxTokens, rint(rng, 0, 3));
        all.push(s);
        sched.add(s);
        if (rng.nextFloat() < 0.2) abortAt.set(s, rint(rng, 0, 30));
      }
      let steps = 0;
      while (sched.waiting.length + sched.running.length > 0) {
        for (const [s, at] of abortAt) {
          if (at === steps && !s.isDone) {
            sched.remove(s);
            s.status = "aborted";
          }
        }
        const out = sched.schedule();
        const tokens = out.items.reduce((n, it) => n + it.numNewTokens, 0);
        expect(tokens).toBeLessThanOrEqual(config.maxBatchedTokens);
        expect(sched.running.length).toBeLessThanOrEqual(config.maxNumSeqs);
        expect(new Set(out.items.map((i) => i.seq)).size).toBe(out.items.length);
        for (const { seq: s, numNewTokens } of out.items) {
          expect(s.blockTable.length * bs).toBeGreaterThanOrEqual(s.numComputed + numNewTokens);
          s.numComputed += numNewTokens;
          bm.registerComputed(s);
          if (s.numComputed === s.numTokens) {
            if (s.numOutputTokens + 1 >= s.limits.maxTokens) {
              s.tokens.push(0);
              sched.remove(s);
              s.status = "finished";
            } else s.tokens.push(rint(rng, 0, 5));
          }
        }
        expect(bm.checkInvariants()).toBeNull();
        expect(++steps, "scheduler made no progress").toBeLessThan(5000);
      }
      for (const s of all) expect(s.isDone, `sequence ${s.id} never ran to the end`).toBe(true);
      expect(bm.numFree).toBe(numBlocks);
    }
  });
});

describe("reasoning budget properties", () => {
  it("a think block never holds more than the budget, over random budgets and model outputs", () => {
    const rng = new Rng(3);
    for (let round = 0; round < 500; round++) {
      const budgetTokens = rint(rng, 0, 12);
      const promptEndsThinking = rng.nextFloat() < 0.5;
      const prompt = [1, 3, 50, 4, ...(promptEndsThinking ? [THINK.think] : [])];
      const b = new ReasoningBudget(THINK, budgetTokens, prompt);
      const out: number[] = [];
      for (let i = 0; i < 40; i++) {
        const forced = b.forcedNext();
        // a model that thinks for a random while, sometimes closes on its own, sometimes opens again
        const r = rng.nextFloat();
        const token = forced ?? (r < 0.05 ? THINK.think : r < 0.1 ? THINK.endThink : rint(rng, 40, 99));
        out.push(token);
        b.observe(token, forced !== null);
      }
      // count tokens inside think blocks of the output (prompt's open block included); a stray [THINK]
      // inside an open block is a reasoning token like any other
      let inside = promptEndsThinking, count = 0;
      for (const t of out) {
        if (t === THINK.think && !inside) inside = true;
        else if (t === THINK.endThink) inside = false;
        else if (inside) count++;
      }
      expect(count).toBeLessThanOrEqual(budgetTokens);
      expect(b.reasoningTokens).toBe(count);
    }
  });

  it("forces [/THINK] right after the budget-th token", () => {
    const b = new ReasoningBudget(THINK, 3, [1, 34]);
    const out: number[] = [];
    for (let i = 0; i < 6; i++) {
      const f = b.forcedNext();
      const t = f ?? 60 + i;
      out.push(t);
      b.observe(t, f !== null);
    }
    expect(out).toEqual([60, 61, 62, 35, 64, 65]);
    expect(b.budgetExhausted).toBe(true);
    expect(b.reasoningTokens).toBe(3);
  });

  it("budget 0 (no reasoning asked) closes a stray [THINK] at once without calling a budget exhausted", () => {
    const b = new ReasoningBudget(THINK, 0, [1]);
    b.observe(34, false);
    expect(b.forcedNext()).toBe(35);
    b.observe(35, true);
    expect(b.reasoningTokens).toBe(0);
    expect(b.budgetExhausted).toBe(false);
  });

  it("stops counting when the model closes on its own, and counts nothing without a think block", () => {
    const closed = new ReasoningBudget(THINK, 10, [1, 34]);
    for (const t of [60, 61, 35, 70, 71, 72]) closed.observe(t, false);
    expect(closed.reasoningTokens).toBe(2);
    expect(closed.budgetExhausted).toBe(false);
    const none = new ReasoningBudget(THINK, 0, [1, 34, 60, 35, 4]); // an earlier, closed block in the prompt
    expect(none.forcedNext()).toBeNull();
    none.observe(61, false);
    expect(none.reasoningTokens).toBe(0);
  });
});
