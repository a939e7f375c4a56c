// The decoder's configuration after reading either config.json (Hugging Face) or params.json (Mistral
// native): one normalised shape that the loader and the forward pass use, whatever the source.

export interface RopeConfig {
  theta: number;
  /** "default" = plain RoPE; "yarn" = YaRN with the fields below (transformers' semantics). */
  type: "default" | "yarn";
  factor: number;
  originalMaxPositions: number;
  betaFast: number;
  betaSlow: number;
  /** Magnitude multiplier folded into cos/sin (YaRN's attention factor; 1 for default RoPE). */
  attentionFactor: number;
  /** Whether floor/ceil bound the correction range (transformers' `truncate`, default true). */
  truncate: boolean;
}

export interface QueryScaleConfig {
  /** llama-4 position query scale 1 + beta·ln(1 + ⌊pos / originalMax⌋); beta 0 disables it. */
  beta: number;
  originalMax: number;
}

export interface Fp8Config {
  kind: "fp8-e4m3-static-tensor";
}

export interface TextConfig {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  rmsNormEps: number;
  maxPositions: number;
  rope: RopeConfig;
  queryScale: QueryScaleConfig;
  tieWordEmbeddings: boolean;
  bosId: number;
  eosId: number;
  padId: number;
  /** null: every linear is bf16/f16/f32; otherwise the decoder linears are FP8 with static scales. */
  quantization: Fp8Config | null;
}

export interface ModelConfig {
  layout: "hf" | "native";
  /** Directory the model was read from. */
  dir: string;
  /** File the configuration came from (config.json or params.json), for messages. */
  source: string;
  text: TextConfig;
  /** The raw vision section when the model has a vision tower (used by the vision issue). */
  vision: Record<string, unknown> | null;
  imageTokenId: number | null;
}

/** Checks relations between fields that each passed their own validation. */
export function checkTextConfig(c: TextConfig, source: string): void {
  const problems: string[] = [];
  if (c.numHeads % c.numKvHeads !== 0) {
    problems.push(`num_attention_heads ${c.numHeads} is not a multiple of num_key_value_heads ${c.numKvHeads}`);
  }
  if (c.headDim % 2 !== 0) problems.push(`head_dim ${c.headDim} must be even for rotate-half RoPE`);
  if (c.rope.type === "yarn" && !(c.rope.factor > 0)) problems.push(`YaRN factor ${c.rope.factor} must be positive`);
  if (c.bosId >= c.vocabSize || c.eosId >= c.vocabSize) {
    problems.push(`bos/eos ids ${c.bosId}/${c.eosId} must be below vocab_size ${c.vocabSize}`);
  }
  if (problems.length > 0) throw new ConfigError(source, problems);
}

export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`Invalid model configuration in ${source}:\n  - ${problems.join("\n  - ")}`);
    this.name = "ConfigError";
  }
}

/** transformers' get_mscale: 1 for s ≤ 1, else 0.1·m·ln(s) + 1. */
export function yarnMscale(scale: number, m = 1): number {
  return scale <= 1 ? 1 : 0.1 * m * Math.log(scale) + 1;
}
