// Mistral Medium 3.5's configuration sections as its config.json writes them (model-spec §2, §4.1), shared
// by the config tests and the header-only stand-in checkpoint.
export const mediumText = {
  vocab_size: 131072,
  hidden_size: 12288,
  intermediate_size: 28672,
  num_hidden_layers: 88,
  num_attention_heads: 96,
  num_key_value_heads: 8,
  head_dim: 128,
  hidden_act: "silu",
  rms_norm_eps: 1e-5,
  max_position_embeddings: 262144,
  sliding_window: null,
  tie_word_embeddings: false,
  model_type: "ministral3",
  rope_parameters: {
    rope_type: "yarn",
    rope_theta: 1e6,
    factor: 64,
    original_max_position_embeddings: 4096,
    beta_fast: 4,
    beta_slow: 1,
    mscale: 1,
    mscale_all_dim: 0,
    llama_4_scaling_beta: 0,
  },
};

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
