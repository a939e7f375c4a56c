// The vision tower from a Mistral-native checkpoint: tiny-mistral3's vision weights renamed to
// vision_encoder.* / pre_mm_projector_norm / patch_merger / vision_language_adapter, with wq/wk rows put
// back into Mistral's interleaved rotary order, next to the native FP8 decoder. The loader must undo the
// interleave: the projector outputs equal the Hugging Face layout's, and skipping the permutation breaks them.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createBackend } from "../../ffi/backend.ts";
import { loadModelConfig } from "../../runtime/config/load-config.ts";
import { requireVision } from "../../runtime/vision/open-vision.ts";
import { SafetensorsFile } from "../../runtime/weights/safetensors.ts";
import { type TensorToWrite, writeSafetensors } from "../../runtime/weights/write-safetensors.ts";
import { closeness, describe as explain } from "../helpers/compare.ts";
import { fixtureDir, Golden } from "../helpers/fixtures.ts";
import { goldenImages } from "../helpers/vision-fixtures.ts";

const backend = createBackend("cpu");
const scratch = mkdtempSync(join(tmpdir(), "gust-vision-native-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Mistral's interleaved order from rotate-half order (the inverse of permuteInterleavedRows):
 *  native row h·D + 2i + j = HF row h·D + j·D/2 + i. */
function interleave(bytes: Uint8Array, heads: number, headDim: number): Uint8Array {
  const rowBytes = bytes.byteLength / (heads * headDim), half = headDim / 2, out = new Uint8Array(bytes.byteLength);
  for (let h = 0; h < heads; h++) {
    for (let j = 0; j < 2; j++) {
      for (let i = 0; i < half; i++) {
        const src = (h * headDim + j * half + i) * rowBytes, dst = (h * headDim + 2 * i + j) * rowBytes;
        out.set(bytes.subarray(src, src + rowBytes), dst);
      }
    }
  }
  return out;
}

const nativeName = (hf: string): string =>
  hf.replace(/^model\.vision_tower\./, "vision_encoder.")
    .replace(/attention\.([qkvo])_proj/, "attention.w$1")
    .replace("feed_forward.gate_proj", "feed_forward.w1").replace("feed_forward.up_proj", "feed_forward.w3")
    .replace("feed_forward.down_proj", "feed_forward.w2")
    .replace("model.multi_modal_projector.norm", "pre_mm_projector_norm")
    .replace("model.multi_modal_projector.patch_merger", "patch_merger")
    .replace("model.multi_modal_projector.linear_1", "vision_language_adapter.w_in")
    .replace("model.multi_modal_projector.linear_2", "vision_language_adapter.w_out");

const visionEncoder = {
  hidden_size: 48,
  num_channels: 3,
  image_size: 112,
  max_image_size: 112,
  patch_size: 14,
  intermediate_size: 96,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  rope_theta: 10000,
  image_token_id: 10,
  image_break_token_id: 12,
  image_end_token_id: 13,
  adapter_bias: false,
  spatial_merge_size: 2,
  add_pre_mm_projector_layer_norm: true,
  mm_projector_id: "patch_merge",
};

/** A native model dir: the FP8 native decoder plus tiny-mistral3's vision weights in native names. */
function nativeDir(permuteQK: boolean): string {
  const dir = join(scratch, `native-${permuteQK}`);
  cpSync(fixtureDir("tiny-mistral3-native"), dir, { recursive: true });
  const hf = new SafetensorsFile(join(fixtureDir("tiny-mistral3"), "model.safetensors"));
  const text = new SafetensorsFile(join(dir, "consolidated.safetensors"));
  const tensors: Record<string, TensorToWrite> = {};
  for (const [name, info] of text.tensors) {
    tensors[name] = { dtype: info.dtype, shape: info.shape, data: text.bytes(info).slice() };
  }
  for (const [name, info] of hf.tensors) {
    if (!name.includes("vision_tower") && !name.includes("multi_modal_projector")) continue;
    let data: Uint8Array = hf.bytes(info).slice();
    if (permuteQK && /attention\.[qk]_proj/.test(name)) data = interleave(data, 4, 12);
    tensors[nativeName(name)] = { dtype: info.dtype, shape: info.shape, data };
  }
  writeSafetensors(join(dir, "consolidated.safetensors"), tensors);
  const params = JSON.parse(readFileSync(join(dir, "params.json"), "utf8"));
  writeFileSync(join(dir, "params.json"), JSON.stringify({ ...params, vision_encoder: visionEncoder }));
  return dir;
}

describe("vision tower from Mistral-native names", () => {
  const golden = new Golden("tiny-mistral3");
  const images = [...goldenImages(golden, "one_image"), ...goldenImages(golden, "two_images")];
  const want = Float32Array.from([
    ...golden.f32("one_image.image_features"),
    ...golden.f32("two_images.image_features"),
  ]);

  it("loads vision_encoder.*, undoes the wq/wk interleave and reproduces the HF projector outputs", () => {
    const config = loadModelConfig(nativeDir(true));
    expect(config.layout).toBe("native");
    const v = requireVision(config, backend);
    try {
      expect(v.config.layout).toBe("native");
      const cmp = closeness(v.model.encode(images).features, want, 1e-5, 1e-4);
      expect(cmp.ok, explain(cmp)).toBe(true);
    } finally {
      v.dispose();
    }
  });

  it("rotate-half rows stored under native names (no interleave) give different outputs", () => {
    const v = requireVision(loadModelConfig(nativeDir(false)), backend);
    try {
      expect(closeness(v.model.encode(images).features, want, 1e-3, 1e-2).ok).toBe(false);
    } finally {
      v.dispose();
    }
  });

  it("a missing vision tensor is named", () => {
    const dir = nativeDir(true);
    const st = new SafetensorsFile(join(dir, "consolidated.safetensors"));
    const tensors: Record<string, TensorToWrite> = {};
    for (const [name, info] of st.tensors) {
      if (name !== "vision_language_adapter.w_out.weight") {
        tensors[name] = { dtype: info.dtype, shape: info.shape, data: st.bytes(info).slice() };
      }
    }
    writeSafetensors(join(dir, "consolidated.safetensors"), tensors);
    expect(() => requireVision(loadModelConfig(dir), backend)).toThrow(
      /linear_2 is missing: none of vision_language_adapter.w_out.weight/,
    );
  });

  it("a text-only model has no vision tower, and says so when one is required", () => {
    const dir = join(scratch, "text-only");
    cpSync(fixtureDir("tiny-mistral3-native"), dir, { recursive: true });
    expect(() => requireVision(loadModelConfig(dir), backend)).toThrow(/has no vision section .* cannot read images/);
  });
});
