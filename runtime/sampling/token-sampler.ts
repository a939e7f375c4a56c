// What the engine asks of a sampler: one token from one row of logits, or the log-probability of a token it
// forces. SequenceSampler (sampler.ts) is the full one; ConstrainedSampler wraps any of them.
import type { TopLogprob } from "./logprobs.ts";
import type { SequenceSampler } from "./sampler.ts";

export interface SampledToken {
  token: number;
  logprob: number;
  topLogprobs?: TopLogprob[];
}

/** What the native sampler needs to make a TokenSampler's draw (runtime/sampling/native-sampler.ts). */
export interface NativeDraw {
  sampler: SequenceSampler;
  /** Allowed ids as bits (bit i of word i >> 5); absent = every id. */
  mask?: Uint32Array;
}

/** Samples one token from one row of logits; `step` is the index of the token being generated. */
export interface TokenSampler {
  /** `rawLogits`: the row log-probabilities are reported from when the draw is from a modified copy (default logits). */
  sample(logits: Float32Array, generatedIds: readonly number[], step: number, rawLogits?: Float32Array): SampledToken;
  forced(logits: Float32Array, token: number): SampledToken;
  /** The same draw for the native sampler (the engine's default path, logits left on the device): absent or null
   *  when this sampler has no native form, and the engine then downloads the row and calls `sample`. */
  native?(generatedIds: readonly number[], step: number): NativeDraw | null;
  /** The full sampler behind it, when there is one (speculative verification needs its distributions). */
  sequenceSampler?: SequenceSampler;
}
