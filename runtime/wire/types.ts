// The contract types of the runtime protocol, defined once: the engine produces them, the socket carries them, the
// gateway and functions read them (runtime/wire is shared by both sides and imports nothing of either).

export interface SamplingParams {
  /** ≥ 0; 0 is greedy (argmax after bias and penalties). Default 1. */
  temperature?: number;
  /** 0 or -1 = off, else keep the k most likely tokens. Default off. */
  topK?: number;
  /** (0, 1]: keep the smallest most-likely set with at least this mass. Default 1 (off). */
  topP?: number;
  /** [0, 1]: drop tokens with probability below minP × the top token's. Default 0 (off). */
  minP?: number;
  /** [-2, 2], OpenAI: subtract presencePenalty from every token generated at least once. Default 0. */
  presencePenalty?: number;
  /** [-2, 2], OpenAI: subtract frequencyPenalty × (times generated). Default 0. */
  frequencyPenalty?: number;
  /** > 0, HF/vLLM: tokens in prompt or output get positive logits ÷ r, negative × r. Default 1 (off). */
  repetitionPenalty?: number;
  /** Token id → additive bias in [-100, 100] on the raw logit. */
  logitBias?: Readonly<Record<number, number>>;
  /** Integer; the same seed reproduces the same tokens. A random one is chosen when absent. */
  seed?: number;
  /** Return each token's log-probability with this many top alternatives (0..20); absent or null = no
   * log-probabilities at all (they cost a pass over the vocabulary per token, so they are computed only when asked). */
  logprobs?: number | null;
  /** Most tokens to generate (≥ 1); absent = until a stop token or the context ends. Enforced by the engine. */
  maxTokens?: number;
  /** Extra token ids that end the sequence (besides EOS). Enforced by the engine. */
  stopTokenIds?: readonly number[];
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  reasoning_tokens: number;
  budget_exhausted: boolean;
  cached_tokens: number;
  preemptions: number;
  /** Speculative decoding for this sample, when the engine has a draft model. */
  spec?: {
    drafted: number;
    accepted: number;
    target_steps: number;
    tokens_per_step: number;
    off_reason: string | null;
  };
}

export interface TokenLogprob {
  token: number;
  logprob: number;
}

export interface GeneratedToken {
  token: number;
  logprob: number;
  topLogprobs?: TokenLogprob[];
  /** True when the engine forced the token (reasoning budget), not the model. */
  forced: boolean;
}
