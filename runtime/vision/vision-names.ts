// Tensor names of the vision tower and projector in the two checkpoint layouts (model-spec §5.2):
// Hugging Face: model.vision_tower.transformer.layers.3.attention.q_proj.weight,
//               model.multi_modal_projector.patch_merger.merging_layer.weight
//   (transformers v4 checkpoints: the same without the leading "model.")
// Mistral native: vision_encoder.transformer.layers.3.attention.wq.weight, pre_mm_projector_norm.weight,
//               patch_merger.merging_layer.weight, vision_language_adapter.w_in.weight

export type VisionLinearRole = "q" | "k" | "v" | "o" | "gate" | "up" | "down";
export type VisionNormRole = "attnNorm" | "ffnNorm";

export interface VisionNameScheme {
  patchConv: string[];
  lnPre: string[];
  /** Base name of an encoder layer linear, without ".weight". */
  linear(layer: number, role: VisionLinearRole): string[];
  norm(layer: number, role: VisionNormRole): string[];
  projectorNorm: string[];
  /** Base names (without ".weight") of the projector's three linears. */
  merging: string[];
  linear1: string[];
  linear2: string[];
  /** Native checkpoints store wq/wk rows in interleaved rotary order (see permuteInterleavedRows). */
  interleavedQK: boolean;
}

const HF_TOWER = ["model.vision_tower.", "vision_tower."];
const HF_PROJECTOR = ["model.multi_modal_projector.", "multi_modal_projector."];
const hfLinear: Record<VisionLinearRole, string> = {
  q: "attention.q_proj",
  k: "attention.k_proj",
  v: "attention.v_proj",
  o: "attention.o_proj",
  gate: "feed_forward.gate_proj",
  up: "feed_forward.up_proj",
  down: "feed_forward.down_proj",
};
const norms: Record<VisionNormRole, string> = { attnNorm: "attention_norm", ffnNorm: "ffn_norm" };

export const hfVisionScheme: VisionNameScheme = {
  patchConv: HF_TOWER.map((p) => `${p}patch_conv.weight`),
  lnPre: HF_TOWER.map((p) => `${p}ln_pre.weight`),
  linear: (l, role) => HF_TOWER.map((p) => `${p}transformer.layers.${l}.${hfLinear[role]}`),
  norm: (l, role) => HF_TOWER.map((p) => `${p}transformer.layers.${l}.${norms[role]}.weight`),
  projectorNorm: HF_PROJECTOR.map((p) => `${p}norm.weight`),
  merging: HF_PROJECTOR.map((p) => `${p}patch_merger.merging_layer`),
  linear1: HF_PROJECTOR.map((p) => `${p}linear_1`),
  linear2: HF_PROJECTOR.map((p) => `${p}linear_2`),
  interleavedQK: false,
};

const nativeLinear: Record<VisionLinearRole, string> = {
  q: "attention.wq",
  k: "attention.wk",
  v: "attention.wv",
  o: "attention.wo",
  gate: "feed_forward.w1",
  up: "feed_forward.w3",
  down: "feed_forward.w2",
};

export const nativeVisionScheme: VisionNameScheme = {
  patchConv: ["vision_encoder.patch_conv.weight"],
  lnPre: ["vision_encoder.ln_pre.weight"],
  linear: (l, role) => [`vision_encoder.transformer.layers.${l}.${nativeLinear[role]}`],
  norm: (l, role) => [`vision_encoder.transformer.layers.${l}.${norms[role]}.weight`],
  projectorNorm: ["pre_mm_projector_norm.weight"],
  merging: ["patch_merger.merging_layer"],
  linear1: ["vision_language_adapter.w_in"],
  linear2: ["vision_language_adapter.w_out"],
  interleavedQK: true,
};
