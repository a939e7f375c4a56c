// A synthetic Ministral3 checkpoint with random weights (FP8 linears with static scales, bf16 rest),
// in the Hugging Face layout, so benchmarks and tests exercise the real loader at any size.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Rng } from "../sampling/rng.ts";
import { type TensorToWrite, writeSafetensors } from "../weights/write-safetensors.ts";

export interface SyntheticShape {
  hidden: number;
  intermediate: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  vocab: number;
  maxPositions: number;
  fp8: boolean;
}

function randomBf16(rng: Rng, count: number, std: number): Uint8Array {
  const out = new Uint16Array(count);
  const f = new Float32Array(1), u = new Uint32Array(f.buffer);
  for (let i = 0; i < count; i++) {
    f[0] = (rng.nextFloat() * 2 - 1) * std * 1.7;
    out[i] = u[0] >>> 16;
  }
  return new Uint8Array(out.buffer);
}

/** Random e4m3 codes of moderate magnitude (|v| ≤ 2), never the NaN codes 0x7F/0xFF. */
function randomFp8(rng: Rng, count: number): Uint8Array {
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i += 4) {
    const bits = rng.nextU32();
    for (let j = 0; j < 4 && i + j < count; j++) {
      const byte = (bits >>> (8 * j)) & 0xff;
      out[i + j] = (byte & 0x80) | ((byte & 0x7f) % 0x40); // exponent ≤ 7 → |v| < 2
    }
  }
  return out;
}

const scalar = (v: number): TensorToWrite => ({
  dtype: "F32",
  shape: [],
  data: new Uint8Array(new Float32Array([v]).buffer),
});

export function writeSyntheticModel(dir: string, s: SyntheticShape, seed = 1): void {
  mkdirSync(dir, { recursive: true });
  const rng = new Rng(seed);
  const p = "model.language_model.";
  const tensors: Record<string, TensorToWrite> = {};
  const ones = (n: number): TensorToWrite => ({
    dtype: "BF16",
    shape: [n],
    data: new Uint8Array(new Uint16Array(n).fill(0x3f80).buffer),
  });
  const linear = (name: string, out: number, inp: number) => {
    if (s.fp8) {
      tensors[`${name}.weight`] = { dtype: "F8_E4M3", shape: [out, inp], data: randomFp8(rng, out * inp) };
      tensors[`${name}.weight_scale_inv`] = scalar(1 / Math.sqrt(inp));
      tensors[`${name}.activation_scale`] = scalar(0.02);
    } else {
      tensors[`${name}.weight`] = {
        dtype: "BF16",
        shape: [out, inp],
        data: randomBf16(rng, out * inp, 1 / Math.sqrt(inp)),
      };
    }
  };
  tensors[`${p}embed_tokens.weight`] = {
    dtype: "BF16",
    shape: [s.vocab, s.hidden],
    data: randomBf16(rng, s.vocab * s.hidden, 1),
  };
  tensors["lm_head.weight"] = {
    dtype: "BF16",
    shape: [s.vocab, s.hidden],
    data: randomBf16(rng, s.vocab * s.hidden, 1 / Math.sqrt(s.hidden)),
  };
  tensors[`${p}norm.weight`] = ones(s.hidden);
  for (let l = 0; l < s.layers; l++) {
    const q = `${p}layers.${l}.`;
    tensors[`${q}input_layernorm.weight`] = ones(s.hidden);
    tensors[`${q}post_attention_layernorm.weight`] = ones(s.hidden);
    linear(`${q}self_attn.q_proj`, s.heads * s.headDim, s.hidden);
    linear(`${q}self_attn.k_proj`, s.kvHeads * s.headDim, s.hidden);
    linear(`${q}self_attn.v_proj`, s.kvHeads * s.headDim, s.hidden);
    linear(`${q}self_attn.o_proj`, s.hidden, s.heads * s.headDim);
    linear(`${q}mlp.gate_proj`, s.intermediate, s.hidden);
    linear(`${q}mlp.up_proj`, s.intermediate, s.hidden);
    linear(`${q}mlp.down_proj`, s.hidden, s.intermediate);
  }
  writeSafetensors(join(dir, "model.safetensors"), tensors);
  const config = {
    model_type: "mistral3",
    text_config: {
      model_type: "ministral3",
      vocab_size: s.vocab,
      hidden_size: s.hidden,
      intermediate_size: s.intermediate,
      num_hidden_layers: s.layers,
      num_attention_heads: s.heads,
      num_key_value_heads: s.kvHeads,
      head_dim: s.headDim,
      rms_norm_eps: 1e-5,
      max_position_embeddings: s.maxPositions,
      hidden_act: "silu",
      tie_word_embeddings: false,
      rope_parameters: {
        rope_type: "yarn",
        rope_theta: 1e6,
        factor: 8,
        original_max_position_embeddings: s.maxPositions / 8,
        beta_fast: 4,
        beta_slow: 1,
        mscale: 1,
        mscale_all_dim: 0,
        llama_4_scaling_beta: 0,
      },
    },
    ...(s.fp8
      ? { quantization_config: { quant_method: "fp8", activation_scheme: "static", weight_block_size: null } }
      : {}),
  };
  writeFileSync(join(dir, "config.json"), JSON.stringify(config, null, 2));
}
