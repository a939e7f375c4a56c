// Reads a Hugging Face config.json (Mistral3 wrapper with text_config, or a bare Ministral3/Mistral
// decoder) into a TextConfig, with transformers' YaRN semantics (modeling_rope_utils, rope_parameters).
import { FieldReader, type Json } from "./fields.ts";
import { checkTextConfig, type ModelConfig, type RopeConfig, type TextConfig, yarnMscale } from "./text-config.ts";

const TOP_LEVEL_KNOWN = new Set([
  "architectures",
  "model_type",
  "text_config",
  "vision_config",
  "image_token_index",
  "image_token_id",
  "multimodal_projector_bias",
  "projector_hidden_act",
  "spatial_merge_size",
  "vision_feature_layer",
  "tie_word_embeddings",
  "transformers_version",
  "torch_dtype",
  "dtype",
  "quantization_config",
  "_name_or_path",
  "use_cache",
  "bos_token_id",
  "eos_token_id",
  "pad_token_id",
]);

// Fields of the decoder section that do not change the forward math, or that are checked below.
const TEXT_KNOWN = new Set([
  "attention_dropout",
  "bos_token_id",
  "eos_token_id",
  "pad_token_id",
  "head_dim",
  "hidden_act",
  "hidden_size",
  "initializer_range",
  "intermediate_size",
  "max_position_embeddings",
  "model_type",
  "num_attention_heads",
  "num_hidden_layers",
  "num_key_value_heads",
  "rms_norm_eps",
  "rope_parameters",
  "rope_scaling",
  "rope_theta",
  "sliding_window",
  "tie_word_embeddings",
  "use_cache",
  "vocab_size",
  "torch_dtype",
  "dtype",
  "architectures",
  "transformers_version",
  "attention_bias",
  "mlp_bias",
  "output_attentions",
  "output_hidden_states",
  "layer_types",
  "max_window_layers",
  "use_sliding_window",
]);

const BARE_KNOWN = new Set([...TOP_LEVEL_KNOWN, ...TEXT_KNOWN]);

const ROPE_KNOWN = new Set([
  "rope_type",
  "type",
  "rope_theta",
  "factor",
  "original_max_position_embeddings",
  "beta_fast",
  "beta_slow",
  "mscale",
  "mscale_all_dim",
  "attention_factor",
  "llama_4_scaling_beta",
  "max_position_embeddings",
  "truncate",
]);

function readRope(
  r: FieldReader,
  text: Json,
  at: string,
  maxPositions: number,
): { rope: RopeConfig; beta: number; l0: number } {
  const params = r.object(text, `${at}rope_parameters`, false) ?? r.object(text, `${at}rope_scaling`, false);
  const thetaSource = params && params.rope_theta !== undefined ? params : text;
  const theta = r.number(
    thetaSource,
    params && params.rope_theta !== undefined ? "rope_parameters.rope_theta" : `${at}rope_theta`,
    { positive: true },
  );
  if (!params) {
    const rope: RopeConfig = {
      theta,
      type: "default",
      factor: 1,
      originalMaxPositions: maxPositions,
      betaFast: 32,
      betaSlow: 1,
      attentionFactor: 1,
      truncate: true,
    };
    return { rope, beta: 0, l0: maxPositions };
  }
  r.unknownKeys(params, `${at}rope_parameters`, ROPE_KNOWN);
  const type = r.oneOf(
    params,
    params.rope_type !== undefined ? "rope_parameters.rope_type" : "rope_parameters.type",
    ["yarn", "default"] as const,
  );
  const beta = r.number(params, "rope_parameters.llama_4_scaling_beta", { fallback: 0 });
  const hasOriginal = params.original_max_position_embeddings !== undefined &&
    params.original_max_position_embeddings !== null;
  const l0 = hasOriginal ? r.positiveInt(params, "rope_parameters.original_max_position_embeddings") : maxPositions;
  if (type === "default") {
    return {
      rope: {
        theta,
        type,
        factor: 1,
        originalMaxPositions: l0,
        betaFast: 32,
        betaSlow: 1,
        attentionFactor: 1,
        truncate: true,
      },
      beta,
      l0,
    };
  }
  // transformers recomputes the factor from the context lengths whenever the original length is given
  const factor = hasOriginal ? maxPositions / l0 : r.number(params, "rope_parameters.factor", { positive: true });
  const mscale = r.number(params, "rope_parameters.mscale", { fallback: 0 });
  const mscaleAllDim = r.number(params, "rope_parameters.mscale_all_dim", { fallback: 0 });
  let attentionFactor: number;
  if (params.attention_factor !== undefined && params.attention_factor !== null) {
    attentionFactor = r.number(params, "rope_parameters.attention_factor", { positive: true });
  } else if (mscale && mscaleAllDim) attentionFactor = yarnMscale(factor, mscale) / yarnMscale(factor, mscaleAllDim);
  else attentionFactor = yarnMscale(factor);
  const rope: RopeConfig = {
    theta,
    type,
    factor,
    originalMaxPositions: l0,
    betaFast: r.number(params, "rope_parameters.beta_fast", { fallback: 32 }) || 32,
    betaSlow: r.number(params, "rope_parameters.beta_slow", { fallback: 1 }) || 1,
    attentionFactor,
    truncate: r.bool(params, "rope_parameters.truncate", true),
  };
  return { rope, beta, l0 };
}

function readQuantization(r: FieldReader, top: Json): TextConfig["quantization"] {
  const q = r.object(top, "quantization_config", false);
  if (!q) return null;
  r.oneOf(q, "quantization_config.quant_method", ["fp8"] as const);
  r.oneOf(q, "quantization_config.activation_scheme", ["static"] as const);
  if (q.weight_block_size !== undefined && q.weight_block_size !== null) {
    r.problems.push(
      `quantization_config.weight_block_size is ${
        JSON.stringify(q.weight_block_size)
      }; gust supports per-tensor scales only (null)`,
    );
  }
  return { kind: "fp8-e4m3-static-tensor" };
}

export function parseHfConfig(top: Json, dir: string, source: string): ModelConfig {
  const r = new FieldReader(source);
  const nested = r.object(top, "text_config", false);
  // a bare decoder (MistralForCausalLM, text-only checkpoints) keeps the decoder fields at the top level
  r.unknownKeys(top, "", nested ? TOP_LEVEL_KNOWN : BARE_KNOWN);
  const text = nested ?? top;
  const at = nested ? "text_config." : "";
  if (nested) r.unknownKeys(text, "text_config", TEXT_KNOWN);
  r.oneOf(text, `${at}hidden_act`, ["silu"] as const, "silu");
  if (text.sliding_window !== undefined && text.sliding_window !== null) {
    r.problems.push(
      `${at}sliding_window is ${JSON.stringify(text.sliding_window)}; gust supports full attention only (null)`,
    );
  }
  if (text.attention_bias === true || text.mlp_bias === true) {
    r.problems.push("attention_bias/mlp_bias: gust supports bias-free linears only");
  }
  const hiddenSize = r.positiveInt(text, `${at}hidden_size`);
  const numHeads = r.positiveInt(text, `${at}num_attention_heads`);
  const maxPositions = r.positiveInt(text, `${at}max_position_embeddings`);
  const { rope, beta, l0 } = readRope(r, text, at, maxPositions);
  const tie = r.bool(text, `${at}tie_word_embeddings`, r.bool(top, "tie_word_embeddings", false));
  const config: TextConfig = {
    vocabSize: r.positiveInt(text, `${at}vocab_size`),
    hiddenSize,
    intermediateSize: r.positiveInt(text, `${at}intermediate_size`),
    numLayers: r.positiveInt(text, `${at}num_hidden_layers`),
    numHeads,
    numKvHeads: text.num_key_value_heads === undefined ? numHeads : r.positiveInt(text, `${at}num_key_value_heads`),
    headDim: text.head_dim === undefined || text.head_dim === null
      ? hiddenSize / numHeads
      : r.positiveInt(text, `${at}head_dim`),
    rmsNormEps: r.number(text, `${at}rms_norm_eps`, { positive: true }),
    maxPositions,
    rope,
    queryScale: { beta, originalMax: l0 },
    tieWordEmbeddings: tie,
    bosId: r.optionalInt(text, `${at}bos_token_id`, 1),
    eosId: r.optionalInt(text, `${at}eos_token_id`, 2),
    padId: r.optionalInt(text, `${at}pad_token_id`, 11),
    quantization: readQuantization(r, top),
  };
  r.throwIfAny();
  checkTextConfig(config, source);
  const vision = nested ? r.object(top, "vision_config", false) : null;
  const imageToken = top.image_token_index ?? top.image_token_id;
  return {
    layout: "hf",
    dir,
    source,
    text: config,
    vision,
    imageTokenId: typeof imageToken === "number" ? imageToken : null,
  };
}
