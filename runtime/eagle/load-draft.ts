// Loads Mistral's EAGLE draft head (native layout: params.json + consolidated.safetensors) next to its
// target. The draft ships neither embedding nor lm_head: it borrows the target's. Its `eagle_linear`
// [C, 2C] is split by columns at load into W_e (embedding half) and W_h (feature half), so
// eagle_linear(concat(e, h)) = W_e·e + W_h·h needs no concat op (same FP8 scales for both halves).
import { type Backend, DType, type WeightRef } from "../../ffi/backend.ts";
import { loadModelConfig } from "../config/load-config.ts";
import type { ModelConfig, TextConfig } from "../config/text-config.ts";
import { type LoadedModel, placeOnRank } from "../model/load-model.ts";
import type { ModelParallel } from "../model/text-model.ts";
import { TextModel } from "../model/text-model.ts";
import { type Checkpoint, openCheckpoint } from "../weights/checkpoint.ts";
import { loadTextWeights, type TextWeights } from "../weights/load-text.ts";
import { hfScheme, nativeScheme } from "../weights/names.ts";
import { readScalarF32, SafetensorsError } from "../weights/safetensors.ts";

export interface LoadedDraft {
  config: ModelConfig;
  weights: TextWeights;
  /** The draft's decoder layers + norm, with the target's embedding and lm_head. */
  model: TextModel;
  eagleEmbed: WeightRef;
  eagleFeature: WeightRef;
  dispose(): void;
}

const dtypes: Record<string, DType> = { F32: DType.F32, F16: DType.F16, BF16: DType.BF16, F8_E4M3: DType.F8_E4M3 };

/** Fields that must agree so the draft sees the same geometry as the target. */
function checkCompatible(d: TextConfig, t: TextConfig, source: string): void {
  const problems: string[] = [];
  for (const k of ["hiddenSize", "vocabSize", "numHeads", "numKvHeads", "headDim"] as const) {
    if (d[k] !== t[k]) problems.push(`${k} is ${d[k]} in the draft but ${t[k]} in the target`);
  }
  if (JSON.stringify(d.rope) !== JSON.stringify(t.rope)) {
    problems.push(
      `its RoPE/YaRN settings differ from the target's (draft ${JSON.stringify(d.rope)}, target ${
        JSON.stringify(t.rope)
      }); positions would not line up`,
    );
  }
  if (problems.length > 0) {
    throw new Error(`Draft model ${source} does not fit its target:\n  - ${problems.join("\n  - ")}`);
  }
}

/** Splits a row-major [C, 2C] weight into its two [C, C] column halves. */
function splitColumns(bytes: Uint8Array, rows: number, elementBytes: number): [Uint8Array, Uint8Array] {
  const rowBytes = bytes.byteLength / rows, half = rowBytes / 2;
  const left = new Uint8Array(rows * half), right = new Uint8Array(rows * half);
  for (let r = 0; r < rows; r++) {
    left.set(bytes.subarray(r * rowBytes, r * rowBytes + half), r * half);
    right.set(bytes.subarray(r * rowBytes + half, (r + 1) * rowBytes), r * half);
  }
  if (half % elementBytes !== 0) throw new RangeError("eagle_linear rows do not split into whole elements");
  return [left, right];
}

function loadEagleLinear(backend: Backend, ckpt: Checkpoint, c: TextConfig): [WeightRef, WeightRef] {
  const name = ["eagle_linear.weight", "fc.weight", "model.fc.weight"].find((n) => ckpt.has(n));
  if (!name) throw new SafetensorsError(ckpt.dir, "eagle_linear.weight is missing: this is not an EAGLE draft head");
  const info = ckpt.info(name);
  const dtype = dtypes[info.dtype];
  if (dtype === undefined) {
    throw new SafetensorsError(info.file, `${name} has dtype ${info.dtype}; expected BF16, F16, F32 or F8_E4M3`);
  }
  if (info.shape.join(",") !== `${c.hiddenSize},${2 * c.hiddenSize}`) {
    throw new SafetensorsError(
      info.file,
      `${name} has shape [${info.shape}] but a draft of hidden size ${c.hiddenSize} needs [${c.hiddenSize}, ${
        2 * c.hiddenSize
      }]`,
    );
  }
  let actScale = 0, weightScale = 1;
  if (dtype === DType.F8_E4M3) {
    const base = name.slice(0, -".weight".length);
    const scale = (suffix: string) => {
      const n = `${base}.${suffix}`;
      if (!ckpt.has(n)) throw new SafetensorsError(info.file, `${n} is missing (FP8 eagle_linear needs its scales)`);
      return readScalarF32(ckpt.file(n), ckpt.info(n));
    };
    weightScale = scale("qscale_weight");
    actScale = scale("qscale_act");
  }
  const elementBytes = dtype === DType.F8_E4M3 ? 1 : dtype === DType.F32 ? 4 : 2;
  const [left, right] = splitColumns(ckpt.bytes(name), c.hiddenSize, elementBytes);
  return [left, right].map((bytes) => ({ buffer: backend.fromHost(bytes), dtype, actScale, weightScale })) as [
    WeightRef,
    WeightRef,
  ];
}

/** Under tensor parallelism the draft is sharded like its target (same communicator); `beforeStep` is rank 0's. */
export function loadDraft(
  dir: string,
  backend: Backend,
  target: LoadedModel,
  beforeStep?: ModelParallel["beforeStep"],
): LoadedDraft {
  const config = loadModelConfig(dir);
  checkCompatible(config.text, target.config.text, config.source);
  const ckpt = openCheckpoint(dir, config.layout);
  const scheme = config.layout === "hf" ? hfScheme : nativeScheme;
  const comm = target.model.parallel?.comm;
  const rank = placeOnRank(config.text, comm && { comm, beforeStep });
  const weights = loadTextWeights(backend, ckpt, scheme, config.text, undefined, {
    embed: target.weights.embed,
    lmHead: target.weights.lmHead,
  }, rank.slices);
  let eagle: [WeightRef, WeightRef];
  try {
    eagle = loadEagleLinear(backend, ckpt, config.text);
  } catch (err) {
    weights.dispose();
    throw err;
  }
  const model = new TextModel(backend, rank.config, weights, {
    maxPositions: target.model.maxPositions,
    parallel: rank.parallel,
    stepCaps: target.model.stepCaps,
  });
  return {
    config,
    weights,
    model,
    eagleEmbed: eagle[0],
    eagleFeature: eagle[1],
    dispose: () => {
      model.dispose();
      weights.dispose();
      eagle.forEach((w) => w.buffer.dispose());
    },
  };
}
