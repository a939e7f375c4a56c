// What the engine asks of a sampler: one token from one row of logits, or the log-probability of a token it
// forces. SequenceSampler (sampler.ts) is the full one; ConstrainedSampler wraps any of them.
import type { TopLogprob } from "./logprobs.ts";
import type { SequenceSampler } from "./sampler.ts";

export interface SampledToken {
  token: number;
  logprob: number;
  topLogprobs?: TopLogprob[];
}

/** Samples one token from one row of logits; `step` is the index of the token being generated. */
export interface TokenSampler {
  /** `rawLogits`: the row log-probabilities are reported from when the draw is from a modified copy (default logits). */
  sample(logits: Float32Array, generatedIds: readonly number[], step: number, rawLogits?: Float32Array): SampledToken;
  forced(logits: Float32Array, token: number): SampledToken;
  /** The full sampler behind it, when there is one (speculative verification needs its distributions). */
  sequenceSampler?: SequenceSampler;
}
