// The vision tower's and projector's configuration (model-spec §4.1, §4.3), read from either layout:
//  - Hugging Face config.json: `vision_config` (Pixtral) plus the projector fields at the top level
//    (`spatial_merge_size`, `projector_hidden_act`, `multimodal_projector_bias`, `vision_feature_layer`);
//  - Mistral params.json: the `vision_encoder` section (vLLM's VisionEncoderArgs field names).
// Like runtime/config, an unknown field or an unsupported value is a startup error that names it.
import type { ImageTokenIds } from "../wire/image-runs.ts";
import { readFileSync } from "node:fs";
import { FieldReader, type Json } from "../config/fields.ts";
import { ConfigError, type ModelConfig } from "../config/text-config.ts";

export interface VisionConfig {
  layout: "hf" | "native";
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  headDim: number;
  numChannels: number;
  patchSize: number;
  /** Longest image side the rotary table covers, in pixels (1540 for Medium 3.5). */
  imageSize: number;
  /** imageSize / patchSize (floor): rows and columns of the 2-D rotary table. */
  maxPatchesPerSide: number;
  ropeTheta: number;
  /** Encoder RMSNorm eps: hard-coded 1e-5 in transformers' Pixtral and in vLLM. */
  normEps: number;
  spatialMergeSize: number;
  /** The projector's RMSNorm eps (HF: text_config.rms_norm_eps; native: 1e-5). */
  projectorNormEps: number;
  /** Decoder width: the projector's output rows have this many values. */
  textHiddenSize: number;
  /** True when the config says the projector linears may carry biases (the loader refuses bias tensors). */
  projectorBias: boolean;
  imageTokenId: number;
  imageBreakId: number;
  imageEndId: number;
}

/** Control-token ids of Tekken tokenizers; config.json does not carry [IMG_BREAK]/[IMG_END]. */
export const TEKKEN_IMAGE_IDS = { img: 10, imgBreak: 12, imgEnd: 13 } as const;

/** The ids of an image's token layout, as findImageRuns (runtime/wire/image-runs.ts) and the hello name them. */
export const imageTokenIds = (v: VisionConfig): ImageTokenIds => ({
  img: v.imageTokenId,
  imgBreak: v.imageBreakId,
  imgEnd: v.imageEndId,
});

// Fields of vision_config that do not change the forward math, or that are checked below.
const HF_VISION_KNOWN = new Set([
  "attention_dropout",
  "head_dim",
  "hidden_act",
  "hidden_size",
  "image_size",
  "initializer_range",
  "intermediate_size",
  "model_type",
  "num_attention_heads",
  "num_channels",
  "num_hidden_layers",
  "patch_size",
  "rope_parameters",
  "rope_theta",
  "rope_scaling",
  "torch_dtype",
  "dtype",
  "architectures",
  "transformers_version",
  "output_attentions",
  "output_hidden_states",
  "use_return_dict",
]);
const HF_ROPE_KNOWN = new Set(["rope_theta", "rope_type", "type"]);

const NATIVE_KNOWN = new Set([
  "hidden_size",
  "num_channels",
  "image_size",
  "max_image_size",
  "patch_size",
  "intermediate_size",
  "num_hidden_layers",
  "num_attention_heads",
  "head_dim",
  "rope_theta",
  "image_token_id",
  "image_break_token_id",
  "image_end_token_id",
  "adapter_bias",
  "spatial_merge_size",
  "add_pre_mm_projector_layer_norm",
  "mm_projector_id",
  "model_type",
]);

function readJson(path: string): Json {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as Json;
  } catch (err) {
    throw new ConfigError(path, [`cannot read the file again for its vision fields: ${(err as Error).message}`]);
  }
}

/** Checks shared by both layouts; `where` prefixes field names in messages. */
function common(r: FieldReader, v: Json, where: string) {
  const hiddenSize = r.positiveInt(v, `${where}.hidden_size`);
  const numHeads = r.positiveInt(v, `${where}.num_attention_heads`);
  // transformers' PixtralAttention uses hidden_size / heads whatever head_dim says, so the two must agree
  const headDim = hiddenSize / numHeads;
  if (!Number.isInteger(headDim)) {
    r.problems.push(`${where}.hidden_size ${hiddenSize} is not a multiple of num_attention_heads ${numHeads}`);
  }
  if (v.head_dim !== undefined && v.head_dim !== null && v.head_dim !== headDim) {
    r.problems.push(
      `${where}.head_dim is ${
        JSON.stringify(v.head_dim)
      } but hidden_size / num_attention_heads is ${headDim}; gust (like transformers) needs them equal`,
    );
  }
  if (Number.isInteger(headDim) && headDim % 4 !== 0) {
    r.problems.push(
      `${where}: head_dim ${headDim} must be a multiple of 4 (2-D RoPE splits each half into row and column frequencies)`,
    );
  }
  const numChannels = v.num_channels === undefined ? 3 : r.positiveInt(v, `${where}.num_channels`);
  if (numChannels !== 3) r.problems.push(`${where}.num_channels is ${numChannels}; gust reads RGB images (3)`);
  const patchSize = r.positiveInt(v, `${where}.patch_size`);
  const imageSize = r.positiveInt(v, `${where}.image_size`);
  if (imageSize < patchSize) {
    r.problems.push(`${where}.image_size ${imageSize} is smaller than patch_size ${patchSize}`);
  }
  return {
    hiddenSize,
    numHeads,
    headDim: Math.floor(headDim),
    numChannels,
    patchSize,
    imageSize,
    maxPatchesPerSide: Math.floor(imageSize / patchSize),
    intermediateSize: r.positiveInt(v, `${where}.intermediate_size`),
    numLayers: r.positiveInt(v, `${where}.num_hidden_layers`),
  };
}

function checkMerge(r: FieldReader, c: { imageSize: number; patchSize: number }, merge: number, where: string): void {
  if (Math.floor(c.imageSize / c.patchSize) % merge !== 0) {
    r.problems.push(
      `${where}: image_size / patch_size = ${
        Math.floor(c.imageSize / c.patchSize)
      } patches per side is not a multiple of spatial_merge_size ${merge}`,
    );
  }
}

export function parseHfVision(top: Json, textHiddenSize: number, textEps: number, source: string): VisionConfig {
  const r = new FieldReader(source);
  const v = r.object(top, "vision_config", true) ?? {};
  r.unknownKeys(v, "vision_config", HF_VISION_KNOWN);
  r.oneOf(v, "vision_config.model_type", ["pixtral"] as const, "pixtral");
  r.oneOf(v, "vision_config.hidden_act", ["silu"] as const, "silu");
  const c = common(r, v, "vision_config");
  const rope = r.object(v, "vision_config.rope_parameters", false);
  let ropeTheta: number;
  if (rope) {
    r.unknownKeys(rope, "vision_config.rope_parameters", HF_ROPE_KNOWN);
    // transformers ≥5 writes "axial" for Pixtral's 2-D table; older versions write "default": same math
    r.oneOf(
      rope,
      rope.rope_type !== undefined ? "rope_parameters.rope_type" : "rope_parameters.type",
      ["default", "axial"] as const,
      "default",
    );
    ropeTheta = r.number(rope, "rope_parameters.rope_theta", {
      positive: true,
      fallback: r.number(v, "vision_config.rope_theta", { positive: true, fallback: 10000 }),
    });
  } else {
    if (v.rope_scaling !== undefined && v.rope_scaling !== null) {
      r.problems.push("vision_config.rope_scaling: gust supports the plain 2-D Pixtral RoPE only");
    }
    ropeTheta = r.number(v, "vision_config.rope_theta", { positive: true, fallback: 10000 });
  }
  r.oneOf(top, "projector_hidden_act", ["gelu"] as const, "gelu");
  const projectorBias = r.bool(top, "multimodal_projector_bias", false);
  if (projectorBias) r.problems.push("multimodal_projector_bias is true; gust supports bias-free projectors only");
  const spatialMergeSize = top.spatial_merge_size === undefined ? 2 : r.positiveInt(top, "spatial_merge_size");
  const layer = top.vision_feature_layer ?? -1;
  const single = Array.isArray(layer) && layer.length === 1 ? layer[0] : layer;
  if (single !== -1 && single !== c.numLayers) {
    r.problems.push(
      `vision_feature_layer is ${JSON.stringify(layer)}; gust takes the output of the last encoder layer only (-1)`,
    );
  }
  const imageTokenId = r.optionalInt(
    top,
    top.image_token_index !== undefined ? "image_token_index" : "image_token_id",
    TEKKEN_IMAGE_IDS.img,
  );
  checkMerge(r, c, spatialMergeSize, "vision_config");
  r.throwIfAny();
  return {
    layout: "hf",
    ...c,
    ropeTheta,
    normEps: 1e-5,
    spatialMergeSize,
    projectorNormEps: textEps,
    textHiddenSize,
    projectorBias,
    imageTokenId,
    imageBreakId: TEKKEN_IMAGE_IDS.imgBreak,
    imageEndId: TEKKEN_IMAGE_IDS.imgEnd,
  };
}

export function parseNativeVision(params: Json, textHiddenSize: number, source: string): VisionConfig {
  const r = new FieldReader(source);
  const v = r.object(params, "vision_encoder", true) ?? {};
  r.unknownKeys(v, "vision_encoder", NATIVE_KNOWN);
  const c = common(r, v, "vision_encoder");
  const ropeTheta = r.number(v, "vision_encoder.rope_theta", { positive: true, fallback: 10000 });
  const spatialMergeSize = v.spatial_merge_size === undefined
    ? 1
    : r.positiveInt(v, "vision_encoder.spatial_merge_size");
  // vLLM's defaults: no pre-projector norm and no patch merger. Medium 3.5 has both; gust implements that shape.
  if (!r.bool(v, "vision_encoder.add_pre_mm_projector_layer_norm", false)) {
    r.problems.push(
      "vision_encoder.add_pre_mm_projector_layer_norm is not true; gust implements the projector with its RMSNorm (Mistral Medium 3.5)",
    );
  }
  r.oneOf(v, "vision_encoder.mm_projector_id", ["patch_merge"] as const);
  if (spatialMergeSize < 2) {
    r.problems.push(`vision_encoder.spatial_merge_size is ${spatialMergeSize}; the patch merger needs 2 or more`);
  }
  checkMerge(r, c, spatialMergeSize, "vision_encoder");
  const ids = {
    imageTokenId: r.optionalInt(v, "vision_encoder.image_token_id", TEKKEN_IMAGE_IDS.img),
    imageBreakId: r.optionalInt(v, "vision_encoder.image_break_token_id", TEKKEN_IMAGE_IDS.imgBreak),
    imageEndId: r.optionalInt(v, "vision_encoder.image_end_token_id", TEKKEN_IMAGE_IDS.imgEnd),
  };
  r.throwIfAny();
  return {
    layout: "native",
    ...c,
    ropeTheta,
    normEps: 1e-5,
    spatialMergeSize,
    projectorNormEps: 1e-5,
    textHiddenSize,
    // vLLM's default is true; the loader refuses bias tensors if any are present
    projectorBias: r.bool(v, "vision_encoder.adapter_bias", true),
    ...ids,
  };
}

/** The vision configuration of a loaded model directory, or null when the model has no vision tower. */
export function readVisionConfig(model: ModelConfig): VisionConfig | null {
  if (!model.vision) return null;
  const top = readJson(model.source);
  if (model.layout === "hf") return parseHfVision(top, model.text.hiddenSize, model.text.rmsNormEps, model.source);
  return parseNativeVision(top, model.text.hiddenSize, model.source);
}
