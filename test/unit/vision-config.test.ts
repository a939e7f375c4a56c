// Vision configuration on Mistral Medium 3.5's numbers (model-spec §4.1) in both layouts, and the
// errors for fields gust does not implement.
import { describe, expect, it } from "vitest";
import { parseHfVision, parseNativeVision } from "../../runtime/vision/vision-config.ts";
import { mediumVision } from "../helpers/medium-config.ts";

const mediumHf = {
  model_type: "mistral3",
  image_token_index: 10,
  spatial_merge_size: 2,
  projector_hidden_act: "gelu",
  multimodal_projector_bias: false,
  vision_feature_layer: -1,
  vision_config: mediumVision,
};
const mediumNative = {
  vision_encoder: {
    hidden_size: 1664,
    num_channels: 3,
    image_size: 1540,
    max_image_size: 1540,
    patch_size: 14,
    intermediate_size: 8192,
    num_hidden_layers: 48,
    num_attention_heads: 16,
    rope_theta: 10000,
    image_token_id: 10,
    image_break_token_id: 12,
    image_end_token_id: 13,
    adapter_bias: false,
    spatial_merge_size: 2,
    add_pre_mm_projector_layer_norm: true,
    mm_projector_id: "patch_merge",
  },
};

const hf = (edit: (c: typeof mediumHf & Record<string, unknown>) => void = () => {}) => {
  const c = structuredClone(mediumHf) as typeof mediumHf & Record<string, unknown>;
  edit(c);
  return parseHfVision(c, 12288, 1e-5, "config.json");
};

describe("vision config", () => {
  it("reads Medium 3.5's encoder and projector shape", () => {
    const c = hf();
    expect(c).toMatchObject({
      hiddenSize: 1664,
      numLayers: 48,
      numHeads: 16,
      headDim: 104,
      intermediateSize: 8192,
      patchSize: 14,
      imageSize: 1540,
      maxPatchesPerSide: 110,
      ropeTheta: 10000,
      normEps: 1e-5,
      spatialMergeSize: 2,
      projectorNormEps: 1e-5,
      textHiddenSize: 12288,
      imageTokenId: 10,
      imageBreakId: 12,
      imageEndId: 13,
    });
  });

  it("params.json's vision_encoder gives the same configuration", () => {
    const native = parseNativeVision(structuredClone(mediumNative), 12288, "params.json");
    expect({ ...native, layout: "hf" }).toEqual(hf());
  });

  it("accepts transformers 5's rope_type axial and the older top-level rope_theta", () => {
    expect(
      hf((c) => {
        c.vision_config.rope_parameters.rope_type = "axial";
      }).ropeTheta,
    ).toBe(10000);
    const old = hf((c) => {
      delete (c.vision_config as Record<string, unknown>).rope_parameters;
      (c.vision_config as Record<string, unknown>).rope_theta = 5000;
    });
    expect(old.ropeTheta).toBe(5000);
  });

  it.each([
    ["an unknown vision field", (c: Record<string, any>) => {
      c.vision_config.use_layernorm = true;
    }, /vision_config has fields gust does not know: use_layernorm/],
    ["a tanh GELU projector", (c: Record<string, any>) => {
      c.projector_hidden_act = "gelu_pytorch_tanh";
    }, /projector_hidden_act is "gelu_pytorch_tanh"; gust supports "gelu"/],
    ["projector biases", (c: Record<string, any>) => {
      c.multimodal_projector_bias = true;
    }, /multimodal_projector_bias is true/],
    ["an inner feature layer", (c: Record<string, any>) => {
      c.vision_feature_layer = -2;
    }, /vision_feature_layer is -2; .* last encoder layer only/],
    ["a gelu encoder MLP", (c: Record<string, any>) => {
      c.vision_config.hidden_act = "gelu";
    }, /vision_config.hidden_act is "gelu"; gust supports "silu"/],
    ["head_dim ≠ hidden / heads", (c: Record<string, any>) => {
      c.vision_config.head_dim = 128;
    }, /head_dim is 128 but hidden_size \/ num_attention_heads is 104/],
    ["a missing vision_config", (c: Record<string, any>) => {
      delete c.vision_config;
    }, /vision_config is missing/],
    ["a missing hidden_size", (c: Record<string, any>) => {
      delete c.vision_config.hidden_size;
    }, /vision_config.hidden_size is missing/],
    ["a scaled 2-D RoPE", (c: Record<string, any>) => {
      c.vision_config.rope_parameters.rope_type = "yarn";
    }, /rope_type is "yarn"/],
  ])("refuses %s with a message naming the field", (_what, edit, message) => {
    expect(() => hf(edit)).toThrow(message);
    expect(() => hf(edit)).toThrow(/Invalid model configuration in config.json/);
  });

  it.each([
    [
      "no pre-projector norm",
      { add_pre_mm_projector_layer_norm: false },
      /add_pre_mm_projector_layer_norm is not true/,
    ],
    ["no patch merger", { mm_projector_id: "" }, /mm_projector_id is ""; gust supports "patch_merge"/],
    ["an unknown field", { use_biases: true }, /vision_encoder has fields gust does not know: use_biases/],
    [
      "patches per side not divisible by the merge",
      { image_size: 1526 },
      /109 patches per side is not a multiple of spatial_merge_size 2/,
    ],
  ])("params.json: refuses %s", (_what, patch, message) => {
    const p = structuredClone(mediumNative);
    Object.assign(p.vision_encoder, patch);
    expect(() => parseNativeVision(p, 12288, "params.json")).toThrow(message);
  });
});
