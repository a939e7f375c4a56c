// The engine's decode step before and after issue 31, through the real engine on one model: "before" samples in
// TypeScript from downloaded logits over the per-kernel forward; "native sampler" keeps the logits in the
// backend's buffer (gust_sample); "one call" also runs the forward and the sampling as one gust_step. Per path:
// decode tokens/s, ms per step (median and min–max over repeats), process CPU ms per step, and native calls per
// step. Printed by `gust bench`, never asserted (this VM is shared and noisy).
import type { Backend } from "../../ffi/backend.ts";
import type { SamplingPath } from "../engine/logit-rows.ts";
import { loadModel } from "../model/load-model.ts";
import type { StepCalls } from "../model/one-call-step.ts";
import { samplerFactory } from "../sampling/sampler-factory.ts";
import { benchEngine } from "./batch-scaling.ts";

export interface StepPathFigure {
  path: string;
  batch: number;
  tokensPerSecond: number;
  /** ms per decode step: median, min, max over the repeats. */
  stepMs: [number, number, number];
  cpuMsPerStep: number;
  ffiCallsPerStep: number;
}

const PATHS: [string, SamplingPath, StepCalls][] = [
  ["before (TypeScript sampler, per-kernel)", "typescript", "per-kernel"],
  ["native sampler, per-kernel", "native", "per-kernel"],
  ["after (native sampler, one call)", "native", "one-call"],
];

function spread(ms: number[]): [number, number, number] {
  const s = [...ms].sort((a, b) => a - b);
  return [s[Math.floor(s.length / 2)], s[0], s[s.length - 1]];
}

export function measureStepPaths(
  backend: Backend,
  dir: string,
  batches: number[],
  decodeSteps: number,
  repeats = 3,
): StepPathFigure[] {
  const promptLen = 8;
  const loaded = loadModel(dir, backend, { maxPositions: promptLen + repeats * decodeSteps + 8 });
  const vocab = loaded.config.text.vocabSize, figures: StepPathFigure[] = [];
  try {
    for (const batch of batches) {
      for (const [path, sampling, stepCalls] of PATHS) {
        loaded.model.stepCalls = stepCalls;
        const { engine, cache } = benchEngine(backend, loaded, batch, promptLen + repeats * decodeSteps + 4, {
          sampling,
        });
        for (let b = 0; b < batch; b++) {
          const promptIds = Array.from({ length: promptLen }, (_, i) => (b * 97 + i * 13 + 5) % vocab);
          const sampler = samplerFactory({ temperature: 0.7, topP: 0.95, seed: b }, vocab, promptIds);
          engine.add({ requestId: `b${b}`, promptIds, maxTokens: repeats * decodeSteps + 2, ignoreEos: true, sampler });
        }
        engine.step(); // prefill of every prompt in one step
        engine.step(); // first decode step (warm-up)
        const stepMs: number[] = [];
        const calls0 = backend.ffiCalls, cpu0 = process.cpuUsage();
        for (let r = 0; r < repeats; r++) {
          const start = performance.now();
          for (let s = 0; s < decodeSteps; s++) engine.step();
          stepMs.push((performance.now() - start) / decodeSteps);
        }
        const cpu = process.cpuUsage(cpu0), steps = repeats * decodeSteps;
        cache.dispose();
        const [median] = spread(stepMs);
        figures.push({
          path,
          batch,
          tokensPerSecond: (batch * 1000) / median,
          stepMs: spread(stepMs),
          cpuMsPerStep: (cpu.user + cpu.system) / 1000 / steps,
          ffiCallsPerStep: (backend.ffiCalls - calls0) / steps,
        });
      }
    }
  } finally {
    loaded.model.stepCalls = "one-call";
    loaded.dispose();
  }
  return figures;
}

export function formatStepPaths(model: string, figures: StepPathFigure[]): string[] {
  const ms = ([m, lo, hi]: [number, number, number]) => `${m.toFixed(1)} ms (${lo.toFixed(1)}–${hi.toFixed(1)})`;
  return [
    `decode step paths on ${model} (temperature 0.7, top-p 0.95; median, min–max of repeats; CPU ms = process time)`,
    ...figures.map((f) =>
      `batch ${String(f.batch).padStart(3)}  ${f.path.padEnd(40)} ${f.tokensPerSecond.toFixed(1).padStart(8)} tok/s  ` +
      `step ${ms(f.stepMs)}  CPU ${f.cpuMsPerStep.toFixed(1)} ms  native calls/step ${f.ffiCallsPerStep.toFixed(1)}`
    ),
  ];
}
