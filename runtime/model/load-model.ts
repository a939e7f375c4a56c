// Opens a model directory (either layout) and builds the text model on a backend.
import type { Backend, Communicator } from "../../ffi/backend.ts";
import { loadModelConfig } from "../config/load-config.ts";
import type { ModelConfig, TextConfig } from "../config/text-config.ts";
import { openCheckpoint } from "../weights/checkpoint.ts";
import { type LoadProgress, loadTextWeights, type TextWeights } from "../weights/load-text.ts";
import { hfScheme, nativeScheme } from "../weights/names.ts";
import type { TensorSource } from "../weights/tensor-source.ts";
import { rankShape, rankSlices, shardLayout } from "../parallel/layout.ts";
import { type ModelParallel, TextModel } from "./text-model.ts";
import type { StepCaps } from "./workspace.ts";

export interface LoadedModel {
  config: ModelConfig;
  weights: TextWeights;
  model: TextModel;
  dispose(): void;
}

export interface LoadModelOptions {
  maxPositions?: number;
  onProgress?: (p: LoadProgress) => void;
  /** Tensor parallelism: load only this rank's shard and run the forward over the communicator. */
  parallel?: RankPlacement;
  /** The engine's largest step (--max-batched-tokens, --max-num-seqs): the workspace grows no further. */
  stepCaps?: StepCaps;
  /** No decode buckets or CUDA graphs (--enforce-eager; TextModelOptions.enforceEager). */
  enforceEager?: boolean;
}

export interface RankPlacement {
  comm: Communicator;
  /** Rank 0: hands each step to the followers (runtime/parallel/leader.ts). */
  beforeStep?: ModelParallel["beforeStep"];
}

/** One rank's slices of the weights, the config its forward runs with (its head counts) and its TextModel part. */
export function placeOnRank(text: TextConfig, placement: RankPlacement | undefined) {
  if (!placement) return { slices: undefined, config: text, parallel: undefined };
  const { comm, beforeStep } = placement;
  const layout = shardLayout(text, comm.numRanks);
  const slices = rankSlices(text, layout, comm.rank);
  const parallel: ModelParallel = {
    comm,
    vocabRanges: Array.from({ length: comm.numRanks }, (_, r) => rankSlices(text, layout, r).vocab),
    vocabStride: layout.vocabPerRank,
    beforeStep,
    stats: { allReduceMs: 0, allReduces: 0 },
  };
  return { slices, config: rankShape(text, layout, slices), parallel };
}

export function loadModel(dir: string, backend: Backend, options: LoadModelOptions = {}): LoadedModel {
  const config = loadModelConfig(dir);
  return loadModelFrom(config, openCheckpoint(dir, config.layout), backend, options);
}

/** The text model of `config` with its tensors from `ckpt` (a checkpoint, or random weights made on the device). */
export function loadModelFrom(
  config: ModelConfig,
  ckpt: TensorSource,
  backend: Backend,
  options: LoadModelOptions = {},
): LoadedModel {
  const scheme = config.layout === "hf" ? hfScheme : nativeScheme;
  const rank = placeOnRank(config.text, options.parallel);
  const weights = loadTextWeights(backend, ckpt, scheme, config.text, options.onProgress, undefined, rank.slices);
  const model = new TextModel(backend, rank.config, weights, {
    maxPositions: options.maxPositions,
    parallel: rank.parallel,
    stepCaps: options.stepCaps,
    enforceEager: options.enforceEager,
  });
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

/** Prints load progress to stderr in 10 % steps, for checkpoints big enough to take a while. A tensor-parallel
 *  rank (`rank` of `numRanks`) loads about 1/N of the checkpoint, and says which rank it is. */
export function progressPrinter(minBytes = 1 << 30, rank = 0, numRanks = 1): (p: LoadProgress) => void {
  let nextPercent = 10;
  const who = numRanks > 1 ? `rank ${rank}/${numRanks}: ` : "";
  return (p) => {
    if (p.totalBytes < minBytes) return;
    const expected = p.totalBytes / numRanks; // the replicated embedding makes a rank's share a little larger
    const percent = Math.min(100, (100 * p.loadedBytes) / expected);
    if (percent >= nextPercent) {
      process.stderr.write(
        `${who}loading weights: ${Math.floor(percent)}% (${(p.loadedBytes / 2 ** 30).toFixed(1)} of ${
          (expected / 2 ** 30).toFixed(1)
        } GiB)\n`,
      );
      while (nextPercent <= percent) nextPercent += 10;
    }
  };
}
