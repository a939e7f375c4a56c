// Mistral Medium 3.5's configuration sections as its config.json writes them (model-spec §2, §4.1), shared
// by the config tests and the header-only stand-in checkpoint; the text section is the one `gust bench
// --random-model` builds.
import { mediumTextConfig } from "../../runtime/bench/random-models.ts";

export const mediumText = mediumTextConfig;

export const mediumVision = {
  model_type: "pixtral",
  hidden_size: 1664,
  intermediate_size: 8192,
  num_hidden_layers: 48,
  num_attention_heads: 16,
  head_dim: 104,
  hidden_act: "silu",
  patch_size: 14,
  image_size: 1540,
  num_channels: 3,
  attention_dropout: 0,
  rope_parameters: { rope_theta: 10000, rope_type: "default" },
};
