// EAGLE benchmark: for batch sizes B, B requests decode up to M tokens with and without speculation through
// the engine. Reports tokens/s both ways, emitted tokens per target step, and the draft's cost as a
// fraction of the target's (time in propose ÷ time in target forwards). The prompts are the model's held
// conversations when it ships a held.json (gust-mini: real questions, answers that end at </s>), else
// fixed pseudo-random ids decoded to M tokens (random weights accept nearly nothing: speedup < 1).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Backend } from "../../ffi/backend.ts";
import { loadModelConfig } from "../config/load-config.ts";
import { loadDraft } from "../eagle/load-draft.ts";
import { defaultSpecOptions, Speculator } from "../eagle/speculator.ts";
import { Engine } from "../engine/engine.ts";
import { samplerFactory } from "../sampling/sampler-factory.ts";
import { KvCache } from "../model/kv-cache.ts";
import { loadModel } from "../model/load-model.ts";

export interface SpecFigure {
  batch: number;
  plainTokensPerSecond: number;
  specTokensPerSecond: number;
  speedup: number;
  tokensPerTargetStep: number;
  draftCostFraction: number;
}

interface BenchPrompt {
  ids: number[];
  ignoreEos: boolean;
}

/** held.json's text conversations (image ones need pixels), or null when the model has none. */
function heldPrompts(modelDir: string, imageTokenId: number | undefined): BenchPrompt[] | null {
  const file = join(modelDir, "held.json");
  if (!existsSync(file)) return null;
  const held = JSON.parse(readFileSync(file, "utf8")) as { entries: { prompt_ids: number[] }[] };
  const text = held.entries.filter((e) => imageTokenId === undefined || !e.prompt_ids.includes(imageTokenId));
  return text.length > 0 ? text.map((e) => ({ ids: e.prompt_ids, ignoreEos: false })) : null;
}

export function measureSpeculation(
  backend: Backend,
  modelDir: string,
  draftDir: string,
  batches: number[],
  maxTokens: number,
  k = 3,
): SpecFigure[] {
  const blockSize = 16;
  const config = loadModelConfig(modelDir), V = config.text.vocabSize;
  const prompts = heldPrompts(modelDir, config.imageTokenId ?? undefined) ??
    [Array.from({ length: 12 }, (_, i) => (i * 17 + 7) % V)].map((ids) => ({ ids, ignoreEos: true }));
  const promptLen = Math.max(...prompts.map((p) => p.ids.length));
  const target = loadModel(modelDir, backend, { maxPositions: promptLen + maxTokens + k + 8 });
  const draft = loadDraft(draftDir, backend, target);
  const figures: SpecFigure[] = [];
  try {
    for (const batch of batches) {
      const numBlocks = batch * Math.ceil((promptLen + maxTokens + k + 2) / blockSize);
      const once = (speculate: boolean) => {
        const cache = new KvCache(backend, target.config.text, numBlocks, blockSize);
        const spec = speculate
          ? new Speculator(backend, target, draft, numBlocks + batch, blockSize, {
            ...defaultSpecOptions,
            k,
            maxBatch: 64,
            minTokensPerStep: 0,
          })
          : undefined;
        let draftMs = 0, targetMs = 0;
        if (spec) {
          const propose = spec.propose.bind(spec);
          spec.propose = (seqs, kk) => {
            const t = performance.now();
            const r = propose(seqs, kk);
            draftMs += performance.now() - t;
            return r;
          };
        }
        const engine = new Engine(backend, target.model, cache, {
          thinkIds: null,
          eosId: target.config.text.eosId,
          maxNumSeqs: batch,
          maxBatchedTokens: batch * promptLen,
          speculator: spec,
        });
        const forward = target.model.forward.bind(target.model);
        target.model.forward = (b, c, o) => {
          const t = performance.now();
          const r = forward(b, c, o);
          targetMs += performance.now() - t;
          return r;
        };
        // held conversations: all of them, B at a time, timed from their prefills to their </s> (serving
        // throughput); pseudo-random ids: B requests, timed after the prefill (decode throughput)
        const held = !prompts[0].ignoreEos;
        const requests = held ? prompts : Array.from({ length: batch }, (_, b) => ({
          ...prompts[0],
          ids: prompts[0].ids.map((t) => (t + b * 131) % V),
        }));
        requests.forEach((p, i) =>
          engine.add({
            requestId: `r${i}`,
            promptIds: p.ids,
            maxTokens,
            ignoreEos: p.ignoreEos,
            sampler: samplerFactory({ temperature: 0 }, V, p.ids),
          })
        );
        if (!held) engine.step(); // the prefill and its first tokens, untimed
        let decoded = 0;
        const start = performance.now();
        let steps = 0, emitted = 0;
        const events = engine.runToCompletion();
        for (const e of events) {
          decoded += e.tokens.length;
          if (e.usage?.spec) {
            steps += e.usage.spec.target_steps;
            emitted += e.usage.spec.drafted > 0 ? e.usage.spec.tokens_per_step * e.usage.spec.target_steps : 0;
          }
        }
        const seconds = (performance.now() - start) / 1000;
        target.model.forward = forward;
        cache.dispose();
        spec?.dispose();
        return {
          tps: decoded / seconds,
          tokensPerStep: steps > 0 ? emitted / steps : 1,
          draftFraction: targetMs > 0 ? draftMs / targetMs : 0,
        };
      };
      if (batch === batches[0]) {
        once(false);
        once(true);
      } // warm-up: JIT, first touch of the weights and caches
      const plain = once(false), spec = once(true);
      figures.push({
        batch,
        plainTokensPerSecond: plain.tps,
        specTokensPerSecond: spec.tps,
        speedup: spec.tps / plain.tps,
        tokensPerTargetStep: spec.tokensPerStep,
        draftCostFraction: spec.draftFraction,
      });
    }
  } finally {
    draft.dispose();
    target.dispose();
  }
  return figures;
}
