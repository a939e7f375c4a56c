// One request from prompt ids to finished samples on a private engine: what `gust run` and the dev
// command use when no runtime server is involved.
import type { Backend } from "../../ffi/backend.ts";
import type { ImageFeatures } from "../model/image-prefill.ts";
import { KvCache, type KvCacheDtype } from "../model/kv-cache.ts";
import type { TextModel } from "../model/text-model.ts";
import type { SamplingParams } from "../sampling/params.ts";
import { Engine } from "./engine.ts";
import type { ThinkIds } from "./reasoning-budget.ts";
import type { DraftProposer } from "../eagle/speculator.ts";
import type { StepEvent, Usage } from "./request.ts";
import { samplerFactory } from "../sampling/sampler-factory.ts";
import type { TokenSampler } from "../sampling/token-sampler.ts";
import type { FinishReason, GeneratedToken } from "./sequence.ts";

export interface RunOnceRequest {
  promptIds: number[];
  maxTokens: number;
  n?: number;
  sampling: SamplingParams;
  ignoreEos?: boolean;
  stopIds?: number[];
  reasoningBudget?: number | null;
  images?: ImageFeatures;
  /** Draft tokens per round when a speculator is given. */
  speculativeTokens?: number;
  /** KV cache storage (default f32). */
  kvDtype?: KvCacheDtype;
  /** Wraps each sample's sampler (JSON mode: JsonConstraints.wrap). */
  wrapSampler?: (factory: (index: number) => TokenSampler) => (index: number) => TokenSampler;
}

export interface RunOnceSample {
  tokens: GeneratedToken[];
  finishReason: FinishReason;
  usage: Usage;
}

export function runOnce(
  backend: Backend,
  model: TextModel,
  thinkIds: ThinkIds | null,
  req: RunOnceRequest,
  speculator?: DraftProposer,
): RunOnceSample[] {
  const n = req.n ?? 1, blockSize = 16;
  // room for every sample's full length; the prompt's full blocks are shared, so this is generous
  const numBlocks = n * Math.ceil((req.promptIds.length + req.maxTokens + 1) / blockSize) + 1;
  const cache = new KvCache(backend, model.config, numBlocks, blockSize, req.kvDtype);
  try {
    const engine = new Engine(backend, model, cache, {
      thinkIds,
      eosId: model.config.eosId,
      maxNumSeqs: n,
      maxBatchedTokens: 512,
      speculator,
    });
    engine.add({
      requestId: "run",
      promptIds: req.promptIds,
      maxTokens: req.maxTokens,
      n,
      ignoreEos: req.ignoreEos,
      stopIds: req.stopIds,
      reasoningBudget: req.reasoningBudget ?? null,
      images: req.images,
      speculativeTokens: req.speculativeTokens,
      sampler: (req.wrapSampler ?? ((f) => f))(samplerFactory(req.sampling, model.config.vocabSize, req.promptIds)),
    });
    const samples: RunOnceSample[] = Array.from(
      { length: n },
      () => ({ tokens: [], finishReason: "length" as FinishReason, usage: undefined as unknown as Usage }),
    );
    engine.runToCompletion((e: StepEvent) => {
      samples[e.index].tokens.push(...e.tokens);
      if (e.finishReason) {
        samples[e.index].finishReason = e.finishReason;
        samples[e.index].usage = e.usage!;
      }
    });
    return samples;
  } finally {
    cache.dispose();
  }
}
