// `gust bench --tensor-parallel N`: decode step time of one model at TP 1 and at TP N (this process rank 0,
// followers as real processes on the CPU backend), per-step median and spread, and the share of rank 0's
// step spent inside all-reduces (waiting for the slowest rank included). Timings only; no pass/fail.
import type { Backend } from "../../ffi/backend.ts";
import { loadModel } from "../model/load-model.ts";
import { SingleSequence } from "../model/single-sequence.ts";
import { ModelId, TensorParallelGroup } from "../parallel/leader.ts";
import { argmax } from "../sampling/basic.ts";

export interface StepFigure {
  numRanks: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
  /** Share of the measured steps' time spent in all-reduces on rank 0 (0 at TP 1). */
  allReduceShare: number;
  allReducesPerStep: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export function measureStepTime(backend: Backend, dir: string, numRanks: number, decodeTokens: number): StepFigure {
  const promptTokens = 16, warmup = 2, maxPositions = promptTokens + warmup + decodeTokens;
  const group = numRanks > 1 ? TensorParallelGroup.start(backend, { numRanks, modelDir: dir, maxPositions }) : null;
  const loaded = loadModel(dir, backend, { maxPositions, parallel: group?.placement(ModelId.Target) });
  group?.ready();
  const seq = new SingleSequence(backend, loaded.model, maxPositions);
  try {
    const prompt = Array.from({ length: promptTokens }, (_, i) => (i * 37 + 5) % loaded.config.text.vocabSize);
    let logits = seq.append(prompt).logits;
    for (let i = 0; i < warmup; i++) logits = seq.append([argmax(logits)]).logits;
    const stats = loaded.model.parallel?.stats ?? { allReduceMs: 0, allReduces: 0 };
    stats.allReduceMs = stats.allReduces = 0;
    const times: number[] = [];
    for (let i = 0; i < decodeTokens; i++) {
      const start = performance.now();
      logits = seq.append([argmax(logits)]).logits;
      times.push(performance.now() - start);
    }
    const total = times.reduce((a, b) => a + b, 0);
    return {
      numRanks,
      medianMs: median(times),
      minMs: Math.min(...times),
      maxMs: Math.max(...times),
      allReduceShare: stats.allReduceMs / total,
      allReducesPerStep: stats.allReduces / decodeTokens,
    };
  } finally {
    seq.dispose();
    group?.shutdown();
    loaded.dispose();
  }
}

export function formatStepFigures(label: string, figures: StepFigure[], threads: number): string[] {
  return [
    `tensor parallelism, ${label}: decode step time at batch 1 (${threads} CPU threads per rank)`,
    ...figures.map((f) =>
      `TP ${String(f.numRanks).padStart(2)}: median ${f.medianMs.toFixed(2).padStart(8)} ms  (min ${
        f.minMs.toFixed(2)
      }, max ${f.maxMs.toFixed(2)})  all-reduce ${(100 * f.allReduceShare).toFixed(1).padStart(5)}% of the step (${
        f.allReducesPerStep.toFixed(0)
      } per step)`
    ),
  ];
}
