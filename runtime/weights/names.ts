// Tensor names of the two checkpoint layouts, mapped onto one set of roles.
// Hugging Face: model.language_model.layers.3.self_attn.q_proj.weight (+ .weight_scale_inv, .activation_scale)
//   (older transformers: language_model.model.layers.3...; bare decoders: model.layers.3...)
// Mistral native: layers.3.attention.wq.weight (+ .qscale_weight, .qscale_act)

export type LinearRole = "q" | "k" | "v" | "o" | "gate" | "up" | "down";
export type NormRole = "attnNorm" | "mlpNorm";

export interface NameScheme {
  embed: string[];
  lmHead: string[];
  finalNorm: string[];
  /** Base name of a layer linear, without ".weight". */
  linear(layer: number, role: LinearRole): string[];
  norm(layer: number, role: NormRole): string[];
  weightScale: string[];
  actScale: string[];
  /** Native checkpoints store Q/K rows in interleaved rotary order and need a permutation. */
  interleavedQK: boolean;
}

const HF_PREFIXES = ["model.language_model.", "language_model.model.", "model."];
const hfLinear: Record<LinearRole, string> = {
  q: "self_attn.q_proj",
  k: "self_attn.k_proj",
  v: "self_attn.v_proj",
  o: "self_attn.o_proj",
  gate: "mlp.gate_proj",
  up: "mlp.up_proj",
  down: "mlp.down_proj",
};
const hfNorm: Record<NormRole, string> = { attnNorm: "input_layernorm", mlpNorm: "post_attention_layernorm" };

export const hfScheme: NameScheme = {
  embed: HF_PREFIXES.map((p) => `${p}embed_tokens.weight`),
  lmHead: ["lm_head.weight", "language_model.lm_head.weight"],
  finalNorm: HF_PREFIXES.map((p) => `${p}norm.weight`),
  linear: (l, role) => HF_PREFIXES.map((p) => `${p}layers.${l}.${hfLinear[role]}`),
  norm: (l, role) => HF_PREFIXES.map((p) => `${p}layers.${l}.${hfNorm[role]}.weight`),
  weightScale: ["weight_scale_inv", "weight_scale"],
  actScale: ["activation_scale", "input_scale"],
  interleavedQK: false,
};

const nativeLinear: Record<LinearRole, string> = {
  q: "attention.wq",
  k: "attention.wk",
  v: "attention.wv",
  o: "attention.wo",
  gate: "feed_forward.w1",
  up: "feed_forward.w3",
  down: "feed_forward.w2",
};
const nativeNorm: Record<NormRole, string> = { attnNorm: "attention_norm", mlpNorm: "ffn_norm" };

export const nativeScheme: NameScheme = {
  embed: ["tok_embeddings.weight"],
  lmHead: ["output.weight"],
  finalNorm: ["norm.weight"],
  linear: (l, role) => [`layers.${l}.${nativeLinear[role]}`],
  norm: (l, role) => [`layers.${l}.${nativeNorm[role]}.weight`],
  weightScale: ["qscale_weight"],
  actScale: ["qscale_act"],
  interleavedQK: true,
};

/**
 * Undoes Mistral's interleaved rotary row order so rotate-half RoPE applies:
 * W.view(heads, D/2, 2, in).transpose(1, 2).reshape(heads·D, in), i.e. new row h·D + j·D/2 + i takes
 * old row h·D + 2i + j. Example, D = 4, one head: old rows [r0 r1 r2 r3] → new [r0 r2 r1 r3].
 */
export function permuteInterleavedRows(
  bytes: Uint8Array,
  numHeads: number,
  headDim: number,
  rowBytes: number,
): Uint8Array {
  const out = new Uint8Array(bytes.byteLength);
  const half = headDim / 2;
  for (let h = 0; h < numHeads; h++) {
    for (let j = 0; j < 2; j++) {
      for (let i = 0; i < half; i++) {
        const src = (h * headDim + 2 * i + j) * rowBytes;
        const dst = (h * headDim + j * half + i) * rowBytes;
        out.set(bytes.subarray(src, src + rowBytes), dst);
      }
    }
  }
  return out;
}
