// Writes a gust checkpoint (Hugging Face layout, bf16 or FP8 with per-tensor scales) as a GGUF file for llama.cpp,
// so both engines run the same weights: Q8_0 (blocks of 32: d = max|x| / 127 as f16, q = round(x / d)) from the
// FP8 weights dequantised with their scale, or F16 from bf16. In the Q8_0 file only the checkpoint's FP8 matrices
// are Q8_0: its bf16 ones (embedding, lm_head) stay F16, as gust holds them (before session 20 the lm_head was
// Q8_0 too, half the bytes and int8 arithmetic for ~15 % of a 2-layer model's decode step). Architecture "llama" (same decoder as Ministral3 minus
// YaRN, which costs nothing in a timing run); q/k rows permuted from rotate-half to llama.cpp's interleaved RoPE as
// convert_hf_to_gguf.py does. The vocabulary is placeholder text pieces: the benchmark feeds token ids.
//   bun bench/lab/gguf-convert.ts MODEL_DIR OUT.gguf q8_0|f16
import { closeSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import { loadModelConfig } from "../../runtime/config/load-config.ts";
import { readScalarF32, SafetensorsFile, type TensorInfo } from "../../runtime/weights/safetensors.ts";

const [dir, out, kind] = process.argv.slice(2);
if (!dir || !out || (kind !== "q8_0" && kind !== "f16")) {
  throw new Error("usage: bun bench/lab/gguf-convert.ts MODEL_DIR OUT.gguf q8_0|f16");
}
const config = loadModelConfig(dir).text;
const file = new SafetensorsFile(join(dir, "model.safetensors"));
const e4m3 = new Float32Array(256).map((_, b) => {
  const sign = b & 0x80 ? -1 : 1, exp = (b >> 3) & 15, man = b & 7;
  if (exp === 15 && man === 7) return NaN;
  return sign * (exp === 0 ? man / 8 * 2 ** -6 : (1 + man / 8) * 2 ** (exp - 7));
});

/** f32 values of a weight (FP8 times its weight_scale_inv, bf16/f16/f32 as stored). */
function values(name: string): Float32Array {
  const info = file.tensors.get(name);
  if (!info) throw new Error(`${name} is not in ${dir}`);
  const bytes = file.bytes(info), n = info.shape.reduce((a, b) => a * b, 1), v = new Float32Array(n);
  if (info.dtype === "F8_E4M3") {
    const scaleInfo = file.tensors.get(name.replace(/weight$/, "weight_scale_inv")) as TensorInfo;
    const scale = readScalarF32(file, scaleInfo);
    for (let i = 0; i < n; i++) v[i] = e4m3[bytes[i]] * scale;
  } else if (info.dtype === "BF16") {
    const u = new Uint16Array(bytes.buffer, bytes.byteOffset, n), w = new Uint32Array(v.buffer);
    for (let i = 0; i < n; i++) w[i] = u[i] << 16;
  } else if (info.dtype === "F32") v.set(new Float32Array(bytes.slice().buffer));
  else throw new Error(`${name}: dtype ${info.dtype} is not converted`);
  return v;
}

const f16 = (x: number) => {
  const b = new DataView(new ArrayBuffer(2));
  b.setFloat16(0, x, true);
  return b.getUint16(0, true);
};

/** rows × cols f32 → Q8_0 blocks (cols a multiple of 32). */
function q8_0(v: Float32Array): Uint8Array {
  const blocks = v.length / 32, outBytes = new Uint8Array(blocks * 34), dv = new DataView(outBytes.buffer);
  for (let b = 0; b < blocks; b++) {
    let amax = 0;
    for (let i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(v[b * 32 + i]));
    const d = amax / 127, inv = d ? 1 / d : 0;
    dv.setUint16(b * 34, f16(d), true);
    for (let i = 0; i < 32; i++) dv.setInt8(b * 34 + 2 + i, Math.round(v[b * 32 + i] * inv));
  }
  return outBytes;
}

function asF16(v: Float32Array): Uint8Array {
  const u = new Uint16Array(v.length);
  for (let i = 0; i < v.length; i++) u[i] = f16(v[i]);
  return new Uint8Array(u.buffer);
}

/** Rotate-half rows (i, i + d/2) of each head → interleaved pairs (2i, 2i + 1), as convert_hf_to_gguf's permute. */
function permute(v: Float32Array, heads: number, cols: number): Float32Array {
  const rows = v.length / cols, d = rows / heads, outV = new Float32Array(v.length);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < d / 2; i++) {
      for (const half of [0, 1]) {
        const src = h * d + half * (d / 2) + i, dst = h * d + 2 * i + half;
        outV.set(v.subarray(src * cols, (src + 1) * cols), dst * cols);
      }
    }
  }
  return outV;
}

interface Tensor {
  name: string;
  dims: number[]; // ne[0] first (the contiguous axis)
  type: number; // ggml type: 0 F32, 1 F16, 8 Q8_0
  data: Uint8Array;
}
const tensors: Tensor[] = [];
const p = "model.language_model.";
const add = (name: string, source: string, matrix: boolean, transform?: (v: Float32Array) => Float32Array) => {
  const info = file.tensors.get(source)!;
  let v = values(source);
  if (transform) v = transform(v);
  if (!matrix) return tensors.push({ name, dims: [...info.shape].reverse(), type: 0, data: new Uint8Array(v.buffer) });
  const quantise = kind === "q8_0" && info.dtype === "F8_E4M3" && info.shape[1] % 32 === 0;
  tensors.push({ name, dims: [...info.shape].reverse(), type: quantise ? 8 : 1, data: quantise ? q8_0(v) : asF16(v) });
};
const c = config;
add("token_embd.weight", `${p}embed_tokens.weight`, true);
for (let l = 0; l < c.numLayers; l++) {
  const s = `${p}layers.${l}.`, g = `blk.${l}.`;
  add(`${g}attn_norm.weight`, `${s}input_layernorm.weight`, false);
  add(`${g}attn_q.weight`, `${s}self_attn.q_proj.weight`, true, (v) => permute(v, c.numHeads, c.hiddenSize));
  add(`${g}attn_k.weight`, `${s}self_attn.k_proj.weight`, true, (v) => permute(v, c.numKvHeads, c.hiddenSize));
  add(`${g}attn_v.weight`, `${s}self_attn.v_proj.weight`, true);
  add(`${g}attn_output.weight`, `${s}self_attn.o_proj.weight`, true);
  add(`${g}ffn_norm.weight`, `${s}post_attention_layernorm.weight`, false);
  add(`${g}ffn_gate.weight`, `${s}mlp.gate_proj.weight`, true);
  add(`${g}ffn_up.weight`, `${s}mlp.up_proj.weight`, true);
  add(`${g}ffn_down.weight`, `${s}mlp.down_proj.weight`, true);
}
add("output_norm.weight", `${p}norm.weight`, false);
add("output.weight", "lm_head.weight", true);

// GGUF v3: header, metadata, tensor infos, data aligned to 32 bytes
const chunks: Uint8Array[] = [];
const u32 = (x: number) => chunks.push(new Uint8Array(new Uint32Array([x]).buffer));
const u64 = (x: number) => chunks.push(new Uint8Array(new BigUint64Array([BigInt(x)]).buffer));
const f32 = (x: number) => chunks.push(new Uint8Array(new Float32Array([x]).buffer));
const str = (s: string) => {
  const b = new TextEncoder().encode(s);
  u64(b.length);
  chunks.push(b);
};
// control tokens 0..2, byte tokens 3..258 (<0x00>.., which llama.cpp's SPM tokenizer falls back to), then pieces
const hex = (b: number) => `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`;
const vocab = Array.from(
  { length: c.vocabSize },
  (_, i) => (i < 3 ? ["<unk>", "<s>", "</s>"][i] : i < 259 ? hex(i - 3) : `t${i}`),
);
const tokenType = (i: number) => (i < 3 ? 3 : i < 259 ? 6 : 1);
const meta: Array<[string, () => void]> = [
  ["general.architecture", () => (u32(8), str("llama"))],
  ["general.name", () => (u32(8), str("gust synthetic"))],
  ["llama.context_length", () => (u32(4), u32(c.maxPositions))],
  ["llama.embedding_length", () => (u32(4), u32(c.hiddenSize))],
  ["llama.block_count", () => (u32(4), u32(c.numLayers))],
  ["llama.feed_forward_length", () => (u32(4), u32(c.intermediateSize))],
  ["llama.attention.head_count", () => (u32(4), u32(c.numHeads))],
  ["llama.attention.head_count_kv", () => (u32(4), u32(c.numKvHeads))],
  ["llama.attention.key_length", () => (u32(4), u32(c.headDim))],
  ["llama.attention.value_length", () => (u32(4), u32(c.headDim))],
  ["llama.rope.dimension_count", () => (u32(4), u32(c.headDim))],
  ["llama.rope.freq_base", () => (u32(6), f32(c.rope.theta))],
  ["llama.attention.layer_norm_rms_epsilon", () => (u32(6), f32(c.rmsNormEps))],
  ["llama.vocab_size", () => (u32(4), u32(c.vocabSize))],
  ["tokenizer.ggml.model", () => (u32(8), str("llama"))],
  ["tokenizer.ggml.tokens", () => (u32(9), u32(8), u64(vocab.length), vocab.forEach(str))],
  ["tokenizer.ggml.scores", () => (u32(9), u32(6), u64(vocab.length), vocab.forEach((_, i) => f32(-i)))],
  ["tokenizer.ggml.token_type", () => (u32(9), u32(5), u64(vocab.length), vocab.forEach((_, i) => u32(tokenType(i))))],
  ["tokenizer.ggml.bos_token_id", () => (u32(4), u32(1))],
  ["tokenizer.ggml.eos_token_id", () => (u32(4), u32(2))],
  ["tokenizer.ggml.unknown_token_id", () => (u32(4), u32(0))],
];
chunks.push(new TextEncoder().encode("GGUF"));
u32(3);
u64(tensors.length);
u64(meta.length);
for (const [key, write] of meta) {
  str(key);
  write();
}
const align = (n: number) => Math.ceil(n / 32) * 32;
let offset = 0;
for (const t of tensors) {
  str(t.name);
  u32(t.dims.length);
  t.dims.forEach(u64);
  u32(t.type);
  u64(offset);
  offset = align(offset + t.data.length);
}
const fd = openSync(out, "w");
let written = 0;
for (const chunk of chunks) written += writeSync(fd, chunk);
writeSync(fd, new Uint8Array(align(written) - written));
for (const t of tensors) {
  writeSync(fd, t.data);
  writeSync(fd, new Uint8Array(align(t.data.length) - t.data.length));
}
closeSync(fd);
console.log(`wrote ${out}: ${tensors.length} tensors, ${kind}`);
