// Configuration reading and YaRN arithmetic on the real Mistral Medium 3.5 numbers (model-spec §2, §3).
import { describe, expect, it } from "vitest";
import { parseHfConfig } from "../../runtime/config/hf-config.ts";
import { parseNativeParams } from "../../runtime/config/native-params.ts";
import { buildRopeTables, ropeInverseFrequencies } from "../../runtime/model/rope-tables.ts";
import { mediumText } from "../helpers/medium-config.ts";

const mediumHf = {
  model_type: "mistral3",
  image_token_index: 10,
  text_config: mediumText,
  quantization_config: {
    quant_method: "fp8",
    activation_scheme: "static",
    weight_block_size: null,
    modules_to_not_convert: ["lm_head"],
  },
};
const mediumParams = {
  dim: 12288,
  n_layers: 88,
  head_dim: 128,
  hidden_dim: 28672,
  n_heads: 96,
  n_kv_heads: 8,
  norm_eps: 1e-5,
  vocab_size: 131072,
  rope_theta: 1e6,
  max_seq_len: 262144,
  tied_embeddings: false,
  llama_4_scaling: null,
  yarn: { factor: 64, original_max_position_embeddings: 4096, beta: 4, alpha: 1 },
  quantization: { qformat_weight: "fp8_e4m3", qscheme_act: "TENSOR" },
};

describe("YaRN for Mistral Medium 3.5", () => {
  const hf = parseHfConfig(structuredClone(mediumHf), "/m", "config.json").text;

  it("reads the attention factor 1 + 0.1·ln 64 (mscale_all_dim 0: not the ratio branch)", () => {
    expect(hf.rope.attentionFactor).toBeCloseTo(1.4158883083359672, 12);
    expect(hf.rope.factor).toBe(64);
    expect(hf.quantization).toEqual({ kind: "fp8-e4m3-static-tensor" });
    expect(hf.queryScale.beta).toBe(0);
  });

  it("blends frequencies between dims 23 and 31 as the spec computes", () => {
    const inv = ropeInverseFrequencies(hf.rope, 128);
    expect(inv[23]).toBeCloseTo(1 / Math.pow(1e6, 46 / 128), 9); // unchanged below low
    expect(inv[27]).toBeCloseTo(1.494354e-3, 8);
    expect(inv[31]).toBeCloseTo(1.938965e-5, 10);
    expect(inv[40]).toBeCloseTo(1 / (64 * Math.pow(1e6, 80 / 128)), 12); // divided by 64 at/above high
  });

  it("takes the ratio branch (factor 1.0) for the old config with mscale_all_dim 1", () => {
    const old = structuredClone(mediumHf);
    old.text_config.rope_parameters.mscale_all_dim = 1;
    expect(parseHfConfig(old, "/m", "config.json").text.rope.attentionFactor).toBe(1);
  });

  it("params.json of the same model gives the same configuration", () => {
    const native = parseNativeParams(structuredClone(mediumParams), "/m", "params.json").text;
    expect(native).toEqual(hf);
  });

  it("yarn.apply_scale false forces the attention factor to 1", () => {
    const p = structuredClone(mediumParams) as typeof mediumParams & { yarn: { apply_scale?: boolean } };
    p.yarn.apply_scale = false;
    expect(parseNativeParams(p, "/m", "params.json").text.rope.attentionFactor).toBe(1);
  });

  it("yarn.attention_factor gives the attention factor, as rope_parameters.attention_factor does", () => {
    const p = structuredClone(mediumParams) as typeof mediumParams & { yarn: { attention_factor?: number } };
    p.yarn.attention_factor = 1.1386;
    expect(parseNativeParams(p, "/m", "params.json").text.rope.attentionFactor).toBe(1.1386);
  });

  it("cos/sin tables carry the attention factor", () => {
    const t = buildRopeTables(hf.rope, 128, 3);
    expect(t.cos[0]).toBeCloseTo(1.4158883, 6);
    expect(t.sin[0]).toBe(0);
    expect(t.cos[64 + 0]).toBeCloseTo(Math.cos(1) * 1.4158883, 6); // position 1, dim 0: angle 1 rad
  });

  it("names every bad field of params.json at once", () => {
    const p: Record<string, unknown> = structuredClone(mediumParams);
    delete p.dim;
    p.n_heads = 0;
    p.quantization = { qformat_weight: "int4" };
    p.moe = { num_experts: 8 };
    expect(() => parseNativeParams(p, "/m", "params.json")).toThrow(
      /dim is missing[\s\S]*n_heads is 0 \(expected a positive integer\)[\s\S]*qformat_weight is "int4"/,
    );
  });

  it("rejects heads that do not divide into KV groups", () => {
    const c = structuredClone(mediumHf);
    c.text_config.num_key_value_heads = 7;
    expect(() => parseHfConfig(c, "/m", "config.json")).toThrow(/96 is not a multiple of num_key_value_heads 7/);
  });
});
