// Reads Mistral's native params.json into a TextConfig, following vLLM's params.json → HF conversion
// (yarn.beta → beta_fast, yarn.alpha → beta_slow, no mscale key so the attention factor is
// get_mscale(factor), unless yarn.apply_scale is false, which forces 1, or yarn.attention_factor gives it).
import { FieldReader, type Json } from "./fields.ts";
import { checkTextConfig, type ModelConfig, type TextConfig, yarnMscale } from "./text-config.ts";

const KNOWN = new Set([
  "dim",
  "n_layers",
  "head_dim",
  "hidden_dim",
  "n_heads",
  "n_kv_heads",
  "norm_eps",
  "vocab_size",
  "rope_theta",
  "max_seq_len",
  "max_position_embeddings",
  "tied_embeddings",
  "yarn",
  "llama_4_scaling",
  "quantization",
  "vision_encoder",
  "model_type",
  "dtype",
  "torch_dtype",
  "sliding_window",
  "bos_token_id",
  "eos_token_id",
  "pad_token_id",
  "multimodal",
  "model_max_length",
  "moe",
]);

export function parseNativeParams(p: Json, dir: string, source: string): ModelConfig {
  const r = new FieldReader(source);
  r.unknownKeys(p, "", KNOWN);
  if (p.moe !== undefined && p.moe !== null) r.problems.push("moe: gust runs dense decoders only");
  if (p.sliding_window !== undefined && p.sliding_window !== null) {
    r.problems.push(`sliding_window is ${JSON.stringify(p.sliding_window)}; gust supports full attention only`);
  }
  const dim = r.positiveInt(p, "dim");
  const numHeads = r.positiveInt(p, "n_heads");
  const maxPositions = p.max_position_embeddings !== undefined
    ? r.positiveInt(p, "max_position_embeddings")
    : r.positiveInt(p, "max_seq_len");
  const theta = r.number(p, "rope_theta", { positive: true, fallback: 10000 });
  const yarn = r.object(p, "yarn", false);
  let rope: TextConfig["rope"] = {
    theta,
    type: "default",
    factor: 1,
    originalMaxPositions: maxPositions,
    betaFast: 32,
    betaSlow: 1,
    attentionFactor: 1,
    truncate: true,
  };
  if (yarn) {
    const factor = r.number(yarn, "yarn.factor", { positive: true });
    const applyScale = r.bool(yarn, "yarn.apply_scale", true);
    rope = {
      theta,
      type: "yarn",
      factor,
      originalMaxPositions: r.positiveInt(yarn, "yarn.original_max_position_embeddings"),
      betaFast: r.number(yarn, "yarn.beta", { fallback: 32 }) || 32,
      betaSlow: r.number(yarn, "yarn.alpha", { fallback: 1 }) || 1,
      // yarn.attention_factor (gust's spelling of transformers' rope_parameters.attention_factor) overrides both
      attentionFactor: yarn.attention_factor !== undefined
        ? r.number(yarn, "yarn.attention_factor", { positive: true })
        : applyScale
        ? yarnMscale(factor)
        : 1,
      truncate: true,
    };
  }
  const l4 = r.object(p, "llama_4_scaling", false);
  const queryScale = l4
    ? {
      beta: r.number(l4, "llama_4_scaling.beta"),
      originalMax: r.positiveInt(l4, "llama_4_scaling.original_max_position_embeddings"),
    }
    : { beta: 0, originalMax: rope.originalMaxPositions };
  let quantization: TextConfig["quantization"] = null;
  const q = r.object(p, "quantization", false);
  if (q) {
    r.oneOf(q, "quantization.qformat_weight", ["fp8_e4m3"] as const);
    r.oneOf(q, "quantization.qscheme_act", ["TENSOR"] as const, "TENSOR");
    quantization = { kind: "fp8-e4m3-static-tensor" };
  }
  const config: TextConfig = {
    vocabSize: r.positiveInt(p, "vocab_size"),
    hiddenSize: dim,
    intermediateSize: r.positiveInt(p, "hidden_dim"),
    numLayers: r.positiveInt(p, "n_layers"),
    numHeads,
    numKvHeads: p.n_kv_heads === undefined ? numHeads : r.positiveInt(p, "n_kv_heads"),
    headDim: p.head_dim === undefined ? dim / numHeads : r.positiveInt(p, "head_dim"),
    rmsNormEps: r.number(p, "norm_eps", { positive: true }),
    maxPositions,
    rope,
    queryScale,
    tieWordEmbeddings: r.bool(p, "tied_embeddings", false),
    bosId: r.optionalInt(p, "bos_token_id", 1),
    eosId: r.optionalInt(p, "eos_token_id", 2),
    padId: r.optionalInt(p, "pad_token_id", 11),
    quantization,
  };
  r.throwIfAny();
  checkTextConfig(config, source);
  const vision = r.object(p, "vision_encoder", false);
  return { layout: "native", dir, source, text: config, vision, imageTokenId: vision ? 10 : null };
}
