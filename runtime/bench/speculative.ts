// EAGLE benchmark: for batch sizes B, B requests decode M tokens with and without speculation through
// the engine. Reports tokens/s both ways, emitted tokens per target step, and the draft's cost as a
// fraction of the target's (time in propose ÷ time in target forwards). With random weights the
// acceptance is near zero, so the speedup is < 1; the harness is what matters until a trained draft exists.
import type { Backend } from "../../ffi/backend.ts";
import { loadDraft } from "../eagle/load-draft.ts";
import { Speculator, defaultSpecOptions } from "../eagle/speculator.ts";
import { Engine } from "../engine/engine.ts";
import { samplerFactory } from "../engine/sampler-adapter.ts";
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

export function measureSpeculation(backend: Backend, modelDir: string, draftDir: string, batches: number[], maxTokens: number, k = 3): SpecFigure[] {
  const promptLen = 12, blockSize = 16;
  const target = loadModel(modelDir, backend, { maxPositions: promptLen + maxTokens + k + 8 });
  const draft = loadDraft(draftDir, backend, target);
  const V = target.config.text.vocabSize;
  const figures: SpecFigure[] = [];
  try {
    for (const batch of batches) {
      const numBlocks = batch * Math.ceil((promptLen + maxTokens + k + 2) / blockSize);
      const once = (speculate: boolean) => {
        const cache = new KvCache(backend, target.config.text, numBlocks, blockSize);
        const spec = speculate ? new Speculator(backend, target, draft, numBlocks + batch, blockSize, { ...defaultSpecOptions, k, maxBatch: 64, minTokensPerStep: 0 }) : undefined;
        let draftMs = 0, targetMs = 0;
        if (spec) {
          const propose = spec.propose.bind(spec);
          spec.propose = (seqs, kk) => { const t = performance.now(); const r = propose(seqs, kk); draftMs += performance.now() - t; return r; };
        }
        const engine = new Engine(backend, target.model, cache, { thinkIds: null, eosId: target.config.text.eosId, maxNumSeqs: batch, maxBatchedTokens: batch * promptLen, speculator: spec });
        const forward = target.model.forward.bind(target.model);
        target.model.forward = (b, c, o) => { const t = performance.now(); const r = forward(b, c, o); targetMs += performance.now() - t; return r; };
        for (let b = 0; b < batch; b++) {
          const promptIds = Array.from({ length: promptLen }, (_, i) => (b * 131 + i * 17 + 7) % V);
          engine.add({ requestId: `b${b}`, promptIds, maxTokens, ignoreEos: true, sampler: samplerFactory({ temperature: 0 }, V, promptIds) });
        }
        engine.step(); // prefill
        const start = performance.now();
        let steps = 0, emitted = 0;
        const events = engine.runToCompletion();
        for (const e of events) if (e.usage?.spec) { steps += e.usage.spec.target_steps; emitted += e.usage.spec.drafted > 0 ? e.usage.spec.tokens_per_step * e.usage.spec.target_steps : 0; }
        const seconds = (performance.now() - start) / 1000;
        target.model.forward = forward;
        cache.dispose();
        spec?.dispose();
        return { tps: (batch * (maxTokens - 1)) / seconds, tokensPerStep: steps > 0 ? emitted / steps : 1, draftFraction: targetMs > 0 ? draftMs / targetMs : 0 };
      };
      const plain = once(false), spec = once(true);
      figures.push({ batch, plainTokensPerSecond: plain.tps, specTokensPerSecond: spec.tps, speedup: spec.tps / plain.tps,
        tokensPerTargetStep: spec.tokensPerStep, draftCostFraction: spec.draftFraction });
    }
  } finally {
    draft.dispose();
    target.dispose();
  }
  return figures;
}
