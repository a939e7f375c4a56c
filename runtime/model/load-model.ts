// Opens a model directory (either layout) and builds the text model on a backend.
import type { Backend } from "../../ffi/backend.ts";
import { loadModelConfig } from "../config/load-config.ts";
import type { ModelConfig } from "../config/text-config.ts";
import { openCheckpoint } from "../weights/checkpoint.ts";
import { type LoadProgress, loadTextWeights, type TextWeights } from "../weights/load-text.ts";
import { hfScheme, nativeScheme } from "../weights/names.ts";
import { TextModel } from "./text-model.ts";

export interface LoadedModel {
  config: ModelConfig;
  weights: TextWeights;
  model: TextModel;
  dispose(): void;
}

export interface LoadModelOptions {
  maxPositions?: number;
  onProgress?: (p: LoadProgress) => void;
}

export function loadModel(dir: string, backend: Backend, options: LoadModelOptions = {}): LoadedModel {
  const config = loadModelConfig(dir);
  const ckpt = openCheckpoint(dir, config.layout);
  const scheme = config.layout === "hf" ? hfScheme : nativeScheme;
  const weights = loadTextWeights(backend, ckpt, scheme, config.text, options.onProgress);
  const model = new TextModel(backend, config.text, weights, { maxPositions: options.maxPositions });
  return {
    config,
    weights,
    model,
    dispose: () => {
      model.dispose();
      weights.dispose();
    },
  };
}

/** Prints load progress to stderr in 10 % steps, for checkpoints big enough to take a while. */
export function progressPrinter(minBytes = 1 << 30): (p: LoadProgress) => void {
  let nextPercent = 10;
  return (p) => {
    if (p.totalBytes < minBytes) return;
    const percent = (100 * p.loadedBytes) / p.totalBytes;
    if (percent >= nextPercent) {
      process.stderr.write(
        `loading weights: ${Math.floor(percent)}% (${(p.loadedBytes / 2 ** 30).toFixed(1)} of ${
          (p.totalBytes / 2 ** 30).toFixed(1)
        } GiB)\n`,
      );
      while (nextPercent <= percent) nextPercent += 10;
    }
  };
}
