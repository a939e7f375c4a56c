// Connects the sampler to the engine's TokenSampler interface, one per sample.
import { deriveSeed, randomSeed } from "./counter-hash.ts";
import type { SamplingParams } from "./params.ts";
import { forcedResult, SequenceSampler } from "./sampler.ts";
import type { TokenSampler } from "./token-sampler.ts";

/**
 * Samplers for the n samples of one request. Sample i uses deriveSeed(seed, i), so n = 3 with seed 7
 * reproduces exactly, and sample 0 equals a plain n = 1 request with seed 7.
 */
export function samplerFactory(
  params: SamplingParams,
  vocabSize: number,
  promptIds: readonly number[],
): (index: number) => TokenSampler {
  const baseSeed = params.seed ?? randomSeed();
  return (index) => {
    const sampler = new SequenceSampler(
      { ...params, seed: index === 0 ? baseSeed : deriveSeed(baseSeed, index) },
      vocabSize,
      promptIds,
    );
    return {
      sample: (logits, generated, step, rawLogits) => sampler.sample(logits, generated, step, rawLogits),
      forced: (logits, token) => forcedResult(logits, token, sampler.params.logprobs),
      native: () => ({ sampler }),
      sequenceSampler: sampler,
    };
  };
}
