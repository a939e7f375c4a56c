// Opens the vision tower of a model directory next to its decoder: config, weights, VisionModel.
// Separate from loadModel so text-only users (and text-only checkpoints) never pay for it.
import type { Backend } from "../../ffi/backend.ts";
import type { ModelConfig } from "../config/text-config.ts";
import { openCheckpoint } from "../weights/checkpoint.ts";
import { loadVisionWeights, type VisionWeights } from "./load-vision.ts";
import { readVisionConfig, type VisionConfig } from "./vision-config.ts";
import { hfVisionScheme, nativeVisionScheme } from "./vision-names.ts";
import { VisionModel } from "./vision-model.ts";

export interface LoadedVision {
  config: VisionConfig;
  weights: VisionWeights;
  model: VisionModel;
  dispose(): void;
}

/** The model's vision tower, or null when its configuration has no vision section. */
export function openVision(model: ModelConfig, backend: Backend): LoadedVision | null {
  const config = readVisionConfig(model);
  if (!config) return null;
  const ckpt = openCheckpoint(model.dir, model.layout);
  const weights = loadVisionWeights(backend, ckpt, model.layout === "hf" ? hfVisionScheme : nativeVisionScheme, config);
  const vision = new VisionModel(backend, config, weights);
  return {
    config,
    weights,
    model: vision,
    dispose: () => {
      vision.dispose();
      weights.dispose();
    },
  };
}

/** Like openVision, but a model without a vision tower is an error that says so. */
export function requireVision(model: ModelConfig, backend: Backend): LoadedVision {
  const v = openVision(model, backend);
  if (!v) {
    throw new Error(
      `${model.source} has no vision section (vision_config / vision_encoder): this model cannot read images. Drop the images or use a multimodal checkpoint.`,
    );
  }
  return v;
}
