// Reads what `gust plan` needs from a model directory (and an optional EAGLE draft): config files and
// safetensors headers only. Files are opened header-only, so a stand-in with no tensor data plans the same
// as the real checkpoint, and any attempt to read tensor bytes would fail.
import { loadModelConfig } from "../config/load-config.ts";
import type { ModelConfig } from "../config/text-config.ts";
import { readVisionConfig } from "../vision/vision-config.ts";
import { openCheckpoint } from "../weights/checkpoint.ts";
import { hfScheme, nativeScheme } from "../weights/names.ts";
import type { PlanInputs } from "./memory-plan.ts";
import { placeDecoder, placeEagleLinear, PlacementCollector, placeVision } from "./tensor-placement.ts";

export interface CheckpointSummary {
  dir: string;
  layout: ModelConfig["layout"];
  tensorCount: number;
  totalBytes: number;
  /** Tensors in the files that the runtime does not load (not counted in any rank's weights). */
  notLoaded: { count: number; bytes: number };
}

export interface ReadPlanInputs extends PlanInputs {
  model: ModelConfig;
  checkpoints: CheckpointSummary[];
}

function summary(col: PlacementCollector, model: ModelConfig): CheckpointSummary {
  const ckpt = col.ckpt;
  return {
    dir: ckpt.dir,
    layout: model.layout,
    tensorCount: ckpt.names().length,
    totalBytes: ckpt.totalBytes,
    notLoaded: col.unclaimed(),
  };
}

export function readPlanInputs(modelDir: string, draftDir?: string): ReadPlanInputs {
  const model = loadModelConfig(modelDir);
  const target = new PlacementCollector(openCheckpoint(modelDir, model.layout, { headerOnly: true }));
  placeDecoder(target, model.layout === "hf" ? hfScheme : nativeScheme, model.text, { embedding: true, lmHead: true });
  const vision = readVisionConfig(model);
  if (vision) placeVision(target, vision);
  const checkpoints = [summary(target, model)];
  const tensors = [...target.placed];
  let draft: ModelConfig | null = null;
  if (draftDir) {
    draft = loadModelConfig(draftDir);
    const col = new PlacementCollector(openCheckpoint(draftDir, draft.layout, { headerOnly: true }));
    placeDecoder(col, draft.layout === "hf" ? hfScheme : nativeScheme, draft.text, { embedding: false, lmHead: false });
    placeEagleLinear(col, draft.text);
    checkpoints.push(summary(col, draft));
    tensors.push(...col.placed);
  }
  return { model, text: model.text, vision, draft: draft?.text ?? null, tensors, checkpoints };
}
