// Model configs `gust bench --random-model NAME` builds with random weights (runtime/weights/random-source.ts):
// each as its config.json would say it, parsed by the same reader as a checkpoint's. Mistral Medium 3.5's text
// decoder is model-spec §2 (88 layers, hidden 12288, 96/8 heads of 128, SwiGLU 28672, vocab 131072, YaRN ×64 over
// 4,096, FP8 E4M3 linears with static per-tensor scales). "tiny" is the same family shrunk, for tests on the CPU.
import { parseHfConfig } from "../config/hf-config.ts";
import type { ModelConfig } from "../config/text-config.ts";

const fp8 = { quant_method: "fp8", activation_scheme: "static", weight_block_size: null };
const yarn = (factor: number, originalMax: number) => ({
  rope_type: "yarn",
  rope_theta: 1e6,
  factor,
  original_max_position_embeddings: originalMax,
  beta_fast: 4,
  beta_slow: 1,
  mscale: 1,
  mscale_all_dim: 0,
  llama_4_scaling_beta: 0,
});

const decoder = <Shape extends Record<string, number>>(shape: Shape, rope: Record<string, unknown>) => ({
  model_type: "ministral3",
  hidden_act: "silu",
  rms_norm_eps: 1e-5,
  tie_word_embeddings: false,
  sliding_window: null,
  ...shape,
  rope_parameters: rope,
});

/** Mistral Medium 3.5's text_config as its config.json writes it (model-spec §2). */
export const mediumTextConfig = decoder({
  vocab_size: 131072,
  hidden_size: 12288,
  intermediate_size: 28672,
  num_hidden_layers: 88,
  num_attention_heads: 96,
  num_key_value_heads: 8,
  head_dim: 128,
  max_position_embeddings: 262144,
}, yarn(64, 4096));

export const randomModels: Record<string, Record<string, unknown>> = {
  "mistral-medium-3.5": { model_type: "mistral3", text_config: mediumTextConfig, quantization_config: fp8 },
  tiny: {
    model_type: "mistral3",
    text_config: decoder({
      vocab_size: 512,
      hidden_size: 96,
      intermediate_size: 224,
      num_hidden_layers: 2,
      num_attention_heads: 6,
      num_key_value_heads: 2,
      head_dim: 16,
      max_position_embeddings: 4096,
    }, yarn(8, 512)),
    quantization_config: fp8,
  },
};

/** The named config, with only its first `layers` decoder layers when given (a device that cannot hold them all). */
export function randomModelConfig(name: string, layers?: number): ModelConfig {
  const raw = randomModels[name];
  if (!raw) {
    throw new RangeError(`--random-model must be one of ${Object.keys(randomModels).join(", ")}, got "${name}"`);
  }
  const text = raw.text_config as Record<string, number>;
  if (layers !== undefined && !(Number.isInteger(layers) && layers >= 1 && layers <= text.num_hidden_layers)) {
    throw new RangeError(`--layers must be an integer from 1 to ${text.num_hidden_layers} for ${name}, got ${layers}`);
  }
  const json = { ...raw, text_config: { ...text, num_hidden_layers: layers ?? text.num_hidden_layers } };
  return parseHfConfig(JSON.parse(JSON.stringify(json)), `random:${name}`, `random:${name} (built in)`);
}
