// A bare Hugging Face config.json (MistralForCausalLM: the decoder fields at the top level, no text_config)
// is read like the nested Mistral3 one, and a text-only checkpoint loads from it (issue 31 item 5).
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createBackend } from "../../ffi/backend.ts";
import { loadModelConfig } from "../../runtime/config/load-config.ts";
import { parseHfConfig } from "../../runtime/config/hf-config.ts";
import { generate } from "../helpers/generate.ts";
import { loadModel } from "../../runtime/model/load-model.ts";
import { openVision } from "../../runtime/vision/open-vision.ts";
import { fixtureDir } from "../helpers/fixtures.ts";

// the shape of mistralai/Mistral-7B-Instruct-v0.3's config.json
const mistral7b = {
  architectures: ["MistralForCausalLM"],
  attention_dropout: 0.0,
  bos_token_id: 1,
  eos_token_id: 2,
  head_dim: 128,
  hidden_act: "silu",
  hidden_size: 4096,
  initializer_range: 0.02,
  intermediate_size: 14336,
  max_position_embeddings: 32768,
  model_type: "mistral",
  num_attention_heads: 32,
  num_hidden_layers: 32,
  num_key_value_heads: 8,
  rms_norm_eps: 1e-5,
  rope_theta: 1000000.0,
  sliding_window: null,
  tie_word_embeddings: false,
  torch_dtype: "bfloat16",
  transformers_version: "4.42.0.dev0",
  use_cache: true,
  vocab_size: 32768,
};

describe("bare config.json (no text_config)", () => {
  it("reads a MistralForCausalLM config as a text-only decoder", () => {
    const m = parseHfConfig(structuredClone(mistral7b), "/m", "config.json");
    expect(m.vision).toBeNull();
    expect(m.imageTokenId).toBeNull();
    expect(m.text).toMatchObject({
      vocabSize: 32768,
      hiddenSize: 4096,
      intermediateSize: 14336,
      numLayers: 32,
      numHeads: 32,
      numKvHeads: 8,
      headDim: 128,
      maxPositions: 32768,
      quantization: null,
    });
    expect(m.text.rope).toMatchObject({ type: "default", theta: 1e6, attentionFactor: 1 });
  });

  it("still names unknown and bad fields, without a text_config. prefix", () => {
    const c: Record<string, unknown> = { ...structuredClone(mistral7b), hidden_size: -1, flash_mode: true };
    delete c.vocab_size;
    expect(() => parseHfConfig(c, "/m", "config.json")).toThrow(
      /flash_mode[\s\S]*hidden_size is -1 \(expected a positive integer\)[\s\S]*vocab_size is missing/,
    );
    try {
      parseHfConfig(c, "/m", "config.json");
    } catch (err) {
      expect((err as Error).message).not.toMatch(/text_config\./);
    }
  });

  it("an FP8 bare config keeps its quantization_config", () => {
    const c = {
      ...structuredClone(mistral7b),
      quantization_config: { quant_method: "fp8", activation_scheme: "static", weight_block_size: null },
    };
    expect(parseHfConfig(c, "/m", "config.json").text.quantization).toEqual({ kind: "fp8-e4m3-static-tensor" });
  });
});

describe("a text-only checkpoint with a bare config.json", () => {
  const backend = createBackend("cpu");
  const scratch = mkdtempSync(join(tmpdir(), "gust-bare-"));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it("loads and gives the same logits as the same weights under the nested config", () => {
    const dir = join(scratch, "bare");
    cpSync(fixtureDir("tiny-mistral3"), dir, { recursive: true });
    const nested = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    const bare = {
      ...nested.text_config,
      architectures: ["MistralForCausalLM"],
      model_type: "mistral",
      transformers_version: nested.transformers_version,
    };
    writeFileSync(join(dir, "config.json"), JSON.stringify(bare));
    const config = loadModelConfig(dir);
    expect(config.vision).toBeNull();
    expect(openVision(config, backend)).toBeNull();

    const reference = loadModel(fixtureDir("tiny-mistral3"), backend);
    const textOnly = loadModel(dir, backend);
    try {
      expect(textOnly.config.text).toEqual(reference.config.text);
      const prompt = [1, 3, 45, 67, 89, 4];
      const a = generate(backend, reference.model, prompt, { maxTokens: 6, temperature: 0, ignoreEos: true });
      const b = generate(backend, textOnly.model, prompt, { maxTokens: 6, temperature: 0, ignoreEos: true });
      expect(b.ids).toEqual(a.ids);
      expect(b.logprobs).toEqual(a.logprobs);
    } finally {
      reference.dispose();
      textOnly.dispose();
    }
  });
});
