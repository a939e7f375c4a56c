// Broken model directories and bad token ids give errors that say what is wrong, never a crash.
import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createBackend } from "../../ffi/backend.ts";
import { loadModel } from "../../runtime/model/load-model.ts";
import { generate } from "../helpers/generate.ts";
import { SafetensorsFile } from "../../runtime/weights/safetensors.ts";
import { type TensorToWrite, writeSafetensors } from "../../runtime/weights/write-safetensors.ts";
import { fixtureDir } from "../helpers/fixtures.ts";

const backend = createBackend("cpu");
const scratch = mkdtempSync(join(tmpdir(), "gust-bad-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let counter = 0;
function copyFixture(name: string): string {
  const dir = join(scratch, `${name}-${counter++}`);
  cpSync(fixtureDir(name), dir, { recursive: true });
  return dir;
}

/** Rewrites a fixture's weight file with `edit` applied to its tensors. */
function rewrite(dir: string, file: string, edit: (t: Record<string, TensorToWrite>) => void): void {
  const st = new SafetensorsFile(join(dir, file));
  const tensors: Record<string, TensorToWrite> = {};
  for (const [name, info] of st.tensors) {
    tensors[name] = { dtype: info.dtype, shape: info.shape, data: st.bytes(info).slice() };
  }
  edit(tensors);
  writeSafetensors(join(dir, `${file}.tmp`), tensors);
  copyFileSync(join(dir, `${file}.tmp`), join(dir, file));
  rmSync(join(dir, `${file}.tmp`));
}

describe("bad model directories", () => {
  it("a missing weight file", () => {
    const dir = copyFixture("tiny-mistral3");
    rmSync(join(dir, "model.safetensors"));
    expect(() => loadModel(dir, backend)).toThrow(/no model\*\.safetensors weight files found/);
  });

  it("a missing config", () => {
    const dir = copyFixture("tiny-mistral3-native");
    rmSync(join(dir, "params.json"));
    expect(() => loadModel(dir, backend)).toThrow(/neither config.json .* nor params.json/);
  });

  it("a truncated safetensors header", () => {
    const dir = copyFixture("tiny-mistral3");
    truncateSync(join(dir, "model.safetensors"), 100);
    expect(() => loadModel(dir, backend)).toThrow(/truncated or corrupt header/);
  });

  it("a file truncated inside the tensor data", () => {
    const dir = copyFixture("tiny-mistral3-fp8");
    const path = join(dir, "model.safetensors");
    truncateSync(path, readFileSync(path).byteLength - 1000);
    expect(() => loadModel(dir, backend)).toThrow(/truncated: tensor .* ends at byte/);
  });

  it("a header that is not JSON", () => {
    const dir = copyFixture("tiny-mistral3");
    const path = join(dir, "model.safetensors");
    const bytes = readFileSync(path);
    bytes[8] = 0x21; // "!" where the JSON object opens
    writeFileSync(path, bytes);
    expect(() => loadModel(dir, backend)).toThrow(/header is not valid JSON/);
  });

  it("a weight whose shape disagrees with the config", () => {
    const dir = copyFixture("tiny-mistral3");
    rewrite(dir, "model.safetensors", (t) => {
      const k = t["model.language_model.layers.1.mlp.up_proj.weight"];
      t["model.language_model.layers.1.mlp.up_proj.weight"] = { ...k, shape: [80, 128] };
    });
    expect(() => loadModel(dir, backend)).toThrow(
      /layers\.1\.mlp\.up_proj\.weight has shape \[80,128\] but the config implies \[160, 64\]/,
    );
  });

  it("a weight whose dtype is not supported", () => {
    const dir = copyFixture("tiny-mistral3");
    rewrite(dir, "model.safetensors", (t) => {
      const k = t["model.language_model.norm.weight"];
      t["model.language_model.norm.weight"] = { dtype: "I16", shape: k.shape, data: k.data };
    });
    expect(() => loadModel(dir, backend)).toThrow(
      /norm\.weight has dtype I16; the final norm must be BF16, F16 or F32/,
    );
  });

  it("an FP8 weight without its activation scale", () => {
    const dir = copyFixture("tiny-mistral3-fp8");
    rewrite(dir, "model.safetensors", (t) => {
      delete t["model.language_model.layers.0.self_attn.k_proj.activation_scale"];
    });
    expect(() => loadModel(dir, backend)).toThrow(/activation scale \(static\) of .*k_proj\.weight is missing/);
  });

  it("FP8 weights in a model whose config declares no quantization", () => {
    const dir = copyFixture("tiny-mistral3-fp8");
    const cfg = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    delete cfg.quantization_config;
    writeFileSync(join(dir, "config.json"), JSON.stringify(cfg));
    expect(() => loadModel(dir, backend)).toThrow(/is F8_E4M3 but the config declares no FP8 quantization/);
  });

  it("a missing tensor", () => {
    const dir = copyFixture("tiny-mistral3-native");
    rewrite(dir, "consolidated.safetensors", (t) => delete t["layers.1.feed_forward.w2.weight"]);
    expect(() => loadModel(dir, backend)).toThrow(
      /layer 1 down weight is missing: none of layers\.1\.feed_forward\.w2\.weight/,
    );
  });

  it("config fields that are missing, mistyped or unsupported are all named", () => {
    const dir = copyFixture("tiny-mistral3");
    const cfg = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    delete cfg.text_config.hidden_size;
    cfg.text_config.num_hidden_layers = "two";
    cfg.text_config.sliding_window = 4096;
    cfg.text_config.rope_parameters.rope_type = "longrope";
    cfg.text_config.qk_norm = true;
    writeFileSync(join(dir, "config.json"), JSON.stringify(cfg));
    let message = "";
    try {
      loadModel(dir, backend);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/text_config\.hidden_size is missing/);
    expect(message).toMatch(/text_config\.num_hidden_layers is "two" \(expected a positive integer\)/);
    expect(message).toMatch(/sliding_window is 4096; gust supports full attention only/);
    expect(message).toMatch(/rope_type is "longrope"; gust supports "yarn", "default"/);
    expect(message).toMatch(/fields gust does not know: qk_norm/);
  });
});

describe("bad token ids", () => {
  it("an id outside the vocabulary is refused before any kernel runs", () => {
    const m = loadModel(fixtureDir("tiny-mistral3-fp8"), backend);
    try {
      expect(() => generate(backend, m.model, [1, 2, 512], { maxTokens: 2, temperature: 0 })).toThrow(
        /Prompt token 2 is 512, outside the vocabulary \[0, 512\)/,
      );
      expect(() => generate(backend, m.model, [1, -4], { maxTokens: 2, temperature: 0 })).toThrow(
        /outside the vocabulary/,
      );
      expect(() => generate(backend, m.model, [], { maxTokens: 2, temperature: 0 })).toThrow(/prompt is empty/);
      // and the model still works afterwards
      expect(generate(backend, m.model, [1, 2, 3], { maxTokens: 2, temperature: 0, ignoreEos: true }).ids).toHaveLength(
        2,
      );
    } finally {
      m.dispose();
    }
  });
});
