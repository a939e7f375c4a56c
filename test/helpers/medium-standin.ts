// A header-only stand-in for Mistral Medium 3.5 (model-spec §2, §4.1, §5) and its EAGLE draft (§10.1):
// safetensors files whose headers declare every tensor with its real name, dtype and shape, and hold no
// data at all (a few hundred KiB instead of 124 GiB). Only a reader that stays within the headers can
// plan from them; reading any tensor's bytes fails.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { mediumText, mediumVision } from "./medium-config.ts";

export interface DeclaredTensor {
  name: string;
  dtype: "BF16" | "F32" | "F8_E4M3";
  shape: number[];
}

const dtypeBytes = { BF16: 2, F32: 4, F8_E4M3: 1 } as const;

/** Writes [u64 header length][JSON header] with consecutive data_offsets, and no data after it. */
export function writeHeaderOnly(path: string, tensors: DeclaredTensor[]): void {
  const header: Record<string, unknown> = { __metadata__: { format: "pt" } };
  let offset = 0;
  for (const t of tensors) {
    const bytes = t.shape.reduce((a, b) => a * b, 1) * dtypeBytes[t.dtype];
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = Buffer.from(JSON.stringify(header), "utf8");
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.byteLength));
  writeFileSync(path, Buffer.concat([len, json]));
}

const C = 12288, F = 28672, V = 131072, LAYERS = 88, QD = 96 * 128, KVD = 8 * 128;
const VD = 1664, VF = 8192, VLAYERS = 48;

function fp8Linear(base: string, out: number, inp: number, scales: [string, string]): DeclaredTensor[] {
  return [
    { name: `${base}.weight`, dtype: "F8_E4M3", shape: [out, inp] },
    { name: `${base}.${scales[0]}`, dtype: "F32", shape: [] },
    { name: `${base}.${scales[1]}`, dtype: "F32", shape: [] },
  ];
}

function decoderLayers(
  prefix: string,
  numLayers: number,
  names: { q: string; k: string; v: string; o: string; gate: string; up: string; down: string },
  norms: [string, string],
  scales: [string, string],
): DeclaredTensor[] {
  const out: DeclaredTensor[] = [];
  for (let l = 0; l < numLayers; l++) {
    const p = `${prefix}${l}.`;
    out.push({ name: `${p}${norms[0]}.weight`, dtype: "BF16", shape: [C] });
    out.push(...fp8Linear(`${p}${names.q}`, QD, C, scales), ...fp8Linear(`${p}${names.k}`, KVD, C, scales));
    out.push(...fp8Linear(`${p}${names.v}`, KVD, C, scales), ...fp8Linear(`${p}${names.o}`, C, QD, scales));
    out.push({ name: `${p}${norms[1]}.weight`, dtype: "BF16", shape: [C] });
    out.push(...fp8Linear(`${p}${names.gate}`, F, C, scales), ...fp8Linear(`${p}${names.up}`, F, C, scales));
    out.push(...fp8Linear(`${p}${names.down}`, C, F, scales));
  }
  return out;
}

/** Mistral-Medium-3.5-128B in the Hugging Face layout, two shards and an index. */
export function writeMediumStandIn(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const config = {
    architectures: ["Mistral3ForConditionalGeneration"],
    model_type: "mistral3",
    image_token_index: 10,
    spatial_merge_size: 2,
    projector_hidden_act: "gelu",
    multimodal_projector_bias: false,
    vision_feature_layer: -1,
    text_config: mediumText,
    vision_config: mediumVision,
    quantization_config: {
      quant_method: "fp8",
      activation_scheme: "static",
      weight_block_size: null,
      modules_to_not_convert: ["model.vision_tower", "model.multi_modal_projector", "lm_head"],
    },
  };
  writeFileSync(join(dir, "config.json"), JSON.stringify(config, null, 2));
  const lm = "model.language_model.";
  const text: DeclaredTensor[] = [
    { name: `${lm}embed_tokens.weight`, dtype: "BF16", shape: [V, C] },
    ...decoderLayers(
      `${lm}layers.`,
      LAYERS,
      {
        q: "self_attn.q_proj",
        k: "self_attn.k_proj",
        v: "self_attn.v_proj",
        o: "self_attn.o_proj",
        gate: "mlp.gate_proj",
        up: "mlp.up_proj",
        down: "mlp.down_proj",
      },
      ["input_layernorm", "post_attention_layernorm"],
      ["weight_scale_inv", "activation_scale"],
    ),
    { name: `${lm}norm.weight`, dtype: "BF16", shape: [C] },
    { name: "lm_head.weight", dtype: "BF16", shape: [V, C] },
  ];
  const vt = "model.vision_tower.";
  const vision: DeclaredTensor[] = [
    { name: `${vt}patch_conv.weight`, dtype: "BF16", shape: [VD, 3, 14, 14] },
    { name: `${vt}ln_pre.weight`, dtype: "BF16", shape: [VD] },
  ];
  for (let l = 0; l < VLAYERS; l++) {
    const p = `${vt}transformer.layers.${l}.`;
    for (const r of ["q", "k", "v", "o"]) {
      vision.push({ name: `${p}attention.${r}_proj.weight`, dtype: "BF16", shape: [VD, VD] });
    }
    vision.push({ name: `${p}feed_forward.gate_proj.weight`, dtype: "BF16", shape: [VF, VD] });
    vision.push({ name: `${p}feed_forward.up_proj.weight`, dtype: "BF16", shape: [VF, VD] });
    vision.push({ name: `${p}feed_forward.down_proj.weight`, dtype: "BF16", shape: [VD, VF] });
    vision.push({ name: `${p}attention_norm.weight`, dtype: "BF16", shape: [VD] });
    vision.push({ name: `${p}ffn_norm.weight`, dtype: "BF16", shape: [VD] });
  }
  const mp = "model.multi_modal_projector.";
  vision.push({ name: `${mp}norm.weight`, dtype: "BF16", shape: [VD] });
  vision.push({ name: `${mp}patch_merger.merging_layer.weight`, dtype: "BF16", shape: [VD, 4 * VD] });
  vision.push({ name: `${mp}linear_1.weight`, dtype: "BF16", shape: [C, VD] });
  vision.push({ name: `${mp}linear_2.weight`, dtype: "BF16", shape: [C, C] });
  const shards = {
    "model-00001-of-00002.safetensors": vision.concat(text.slice(0, 400)),
    "model-00002-of-00002.safetensors": text.slice(400),
  };
  const weightMap: Record<string, string> = {};
  for (const [file, tensors] of Object.entries(shards)) {
    writeHeaderOnly(join(dir, file), tensors);
    for (const t of tensors) weightMap[t.name] = file;
  }
  writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify({ metadata: {}, weight_map: weightMap }));
}

/** Mistral-Medium-3.5-128B-EAGLE (native layout): 2 FP8 decoder layers, eagle_linear [C, 2C] bf16, norm. */
export function writeEagleStandIn(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const params = {
    dim: C,
    n_layers: 2,
    head_dim: 128,
    hidden_dim: F,
    n_heads: 96,
    n_kv_heads: 8,
    norm_eps: 1e-5,
    vocab_size: V,
    rope_theta: 1e6,
    max_seq_len: 262144,
    tied_embeddings: false,
    yarn: { factor: 64, original_max_position_embeddings: 4096, beta: 4, alpha: 1 },
    quantization: { qformat_weight: "fp8_e4m3", qscheme_act: "TENSOR" },
  };
  writeFileSync(join(dir, "params.json"), JSON.stringify(params, null, 2));
  writeHeaderOnly(join(dir, "consolidated.safetensors"), [
    { name: "eagle_linear.weight", dtype: "BF16", shape: [C, 2 * C] },
    ...decoderLayers(
      "layers.",
      2,
      {
        q: "attention.wq",
        k: "attention.wk",
        v: "attention.wv",
        o: "attention.wo",
        gate: "feed_forward.w1",
        up: "feed_forward.w3",
        down: "feed_forward.w2",
      },
      ["attention_norm", "ffn_norm"],
      ["qscale_weight", "qscale_act"],
    ),
    { name: "norm.weight", dtype: "BF16", shape: [C] },
  ]);
}
