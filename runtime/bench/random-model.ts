// `gust bench --random-model NAME`: the whole model with random weights made in the backend's memory, through the
// engine (scheduler, paged KV, native sampling): decode at each batch after a prompt each, prefill at each length,
// and the KV capacity at the KV dtype. Layers that do not fit the device are not loaded: the bench says so, runs
// each phase again on one layer, and scales to the full layer count linearly (random-model-ceilings.ts).
// Phases run in order of priority under a time budget; one that would not end in time is skipped, with a reason.
import type { Backend } from "../../ffi/backend.ts";
import type { ModelConfig, TextConfig } from "../config/text-config.ts";
import type { KvCacheDtype } from "../model/kv-cache.ts";
import { type LoadedModel, loadModelFrom } from "../model/load-model.ts";
import { TextModel } from "../model/text-model.ts";
import { shardLayout } from "../parallel/layout.ts";
import { rankWorkspace } from "../plan/memory-plan.ts";
import { RandomSource } from "../weights/random-source.ts";
import { decoderBytes, kvBytesPerTokenLayer, layersThatFit } from "./random-model-ceilings.ts";
import { runDecode, runPrefill, timedBackend, WARMUP_STEPS } from "./random-model-phase.ts";
import { type Ceilings, formatPhase, type PhaseFigure, phaseFigure } from "./random-model-report.ts";

export interface RandomBenchOptions {
  /** The full config (all layers); `layers` loads only the first N. */
  config: ModelConfig;
  name: string;
  layers?: number;
  kvCacheDtype: KvCacheDtype;
  batches: number[];
  promptTokens: number;
  decodeSteps: number;
  prefillLengths: number[];
  /** Engine chunk: the most tokens one step computes (prefill is chunked by it). */
  maxBatchedTokens: number;
  seed: number;
  timeBudgetS: number;
  /** GPU: share of the device's total memory the bench may fill. */
  gpuMemoryUtilization: number;
  /** Run each phase at the loaded layers only (no run without layers, so no scaling): for a profiler's trace. */
  unscaled?: boolean;
  /** Datasheet memory bandwidth (bytes/s) and dense FP8 FLOP/s of the device, for the ceilings (optional). */
  peakBandwidth?: number;
  peakFp8?: number;
  /** Printed as each phase ends (a run cut short keeps what it printed). */
  log: (line: string) => void;
  /** Called with the result so far after the load and after each phase. */
  onPhase?: (partial: RandomBenchResult) => void;
}

export interface RandomBenchResult {
  model: string;
  backend: string;
  totalLayers: number;
  loadedLayers: number;
  loadSeconds: number;
  memory: { freeBytes: number; totalBytes: number };
  ceilings: Ceilings;
  kvCapacity: { dtype: KvCacheDtype; fullModelTokens: number; loadedModelTokens: number };
  phases: PhaseFigure[];
  skipped: string[];
}

const BLOCK = 16;

/** Bytes the bench may fill: on a GPU, free − total · (1 − utilization); on the CPU, half the available memory. */
function usableBytes(backend: Backend, utilization: number): number {
  const m = backend.memoryInfo();
  return backend.sharesHostMemory ? m.freeBytes * 0.5 : m.freeBytes - m.totalBytes * (1 - utilization);
}

/** Bytes/s of a read probe over a buffer of up to 2 GiB (median of 5 passes after one warm-up). */
function readBandwidth(backend: Backend, usable: number): number {
  const bytes = Math.max(1 << 24, Math.min(2 ** 31, Math.floor(usable / 16 / 4096) * 4096));
  using buffer = backend.alloc(bytes);
  backend.readProbe(buffer);
  const times = Array.from({ length: 5 }, () => {
    const start = performance.now();
    backend.readProbe(buffer);
    return performance.now() - start;
  }).sort((a, b) => a - b);
  return bytes / (times[2] / 1000);
}

/** A model over the first `layers` of the loaded weights (the others stay loaded, unused); 0 layers is the head
 *  alone (embedding, final norm, lm_head, sampling), the fixed part of a step. */
function prefixModel(backend: Backend, loaded: LoadedModel, layers: number, maxPositions: number, maxRows: number) {
  const c: TextConfig = { ...loaded.model.config, numLayers: layers };
  const weights = { ...loaded.weights, layers: loaded.weights.layers.slice(0, layers) };
  const caps = { maxTokens: loaded.model.stepCaps.maxTokens, maxRows };
  const model = new TextModel(backend, c, weights, { maxPositions, stepCaps: caps });
  // gust_step takes one layer or more; with none, the per-kernel forward (its bit-identical twin) runs the head
  if (layers === 0) model.stepCalls = "per-kernel";
  return model;
}

export function runRandomBench(backend: Backend, o: RandomBenchOptions): RandomBenchResult {
  const full = o.config.text, started = performance.now();
  const decodeContext = o.promptTokens + o.decodeSteps + WARMUP_STEPS + 1, maxBatch = Math.max(...o.batches);
  const maxPositions = Math.max(decodeContext, ...o.prefillLengths.map((t) => t + 2));
  const memory = backend.memoryInfo(), usable = usableBytes(backend, o.gpuMemoryUtilization);
  const ceilings = {
    measuredBandwidth: readBandwidth(backend, usable),
    peakBandwidth: o.peakBandwidth,
    peakFp8: o.peakFp8,
  };
  const d = decoderBytes(full), kvLayer = kvBytesPerTokenLayer(full, o.kvCacheDtype);
  // the workspace of the largest step (a prefill chunk, a logits row per sequence), counted as the runtime counts it
  const caps = { maxTokens: o.maxBatchedTokens, maxRows: maxBatch };
  const workspace = rankWorkspace(full, shardLayout(full, 1), caps, null, null).total;
  // load for every phase but the largest decode batch (it runs last, on fewer layers when it must)
  const kvTokens = Math.max(...o.prefillLengths.map((t) => t + 2), decodeContext * (o.batches.at(-2) ?? maxBatch));
  const budget = usable * 0.98; // a 2 % margin of what the rule allows, for allocation granularity
  const fitting = layersThatFit(full, budget, workspace, kvTokens, o.kvCacheDtype);
  const layers = Math.min(o.layers ?? full.numLayers, fitting);
  if (layers < 1) {
    throw new RangeError(
      `${o.name} does not fit: ${(usable / 2 ** 30).toFixed(1)} GiB usable, the embedding and lm_head alone take ` +
        `${(d.held / 2 ** 30).toFixed(1)} GiB and one layer with its KV ${
          ((d.perLayer + kvTokens * kvLayer) / 2 ** 30).toFixed(2)
        } GiB`,
    );
  }
  const why = layers === full.numLayers
    ? ""
    : fitting < (o.layers ?? full.numLayers)
    ? ` (the ${fitting} that fit ${(usable / 2 ** 30).toFixed(1)} GiB beside ${kvTokens} tokens of KV)`
    : " (--layers)";
  o.log(`${o.name}: ${layers} of ${full.numLayers} layers${why}, random weights seed ${o.seed}, KV ${o.kvCacheDtype}`);
  const config = { ...o.config, text: { ...full, numLayers: layers } };
  const loadStart = performance.now();
  const loaded = loadModelFrom(config, new RandomSource(o.name, config.text, o.seed), backend, {
    maxPositions,
    stepCaps: caps,
  });
  backend.synchronize();
  const loadSeconds = (performance.now() - loadStart) / 1000;
  o.log(
    `made ${(loaded.weights.loadedBytes / 1e9).toFixed(1)} GB of weights on the ${backend.kind} backend in ${
      loadSeconds.toFixed(1)
    } s`,
  );
  // tokens of KV the memory rule leaves beside all the model's layers, and beside the layers loaded
  const kvRoom = (n: number) => Math.floor((usable - d.held - workspace - n * d.perLayer) / (n * kvLayer));
  const kvCapacity = {
    dtype: o.kvCacheDtype,
    fullModelTokens: kvRoom(full.numLayers),
    loadedModelTokens: kvRoom(layers),
  };
  o.log(
    `KV capacity (${o.kvCacheDtype}, ${full.numLayers * kvLayer} B/token for all ${full.numLayers} layers; ${
      backend.sharesHostMemory ? "half the available memory" : `--gpu-memory-utilization ${o.gpuMemoryUtilization}`
    }): ` +
      `${
        kvCapacity.fullModelTokens < 0
          ? "the full model does not fit"
          : `${kvCapacity.fullModelTokens} tokens with all layers`
      }; ` +
      `${kvCapacity.loadedModelTokens} tokens beside the ${layers} loaded`,
  );
  const result: RandomBenchResult = {
    model: o.name,
    backend: backend.kind,
    totalLayers: full.numLayers,
    loadedLayers: layers,
    loadSeconds,
    memory,
    ceilings,
    kvCapacity,
    phases: [],
    skipped: [],
  };
  o.onPhase?.(result);
  try {
    runPhases(backend, loaded, layers, o, result, started, { usable: budget, workspace });
  } finally {
    loaded.dispose();
  }
  return result;
}

type Phase = { phase: "decode"; batch: number } | { phase: "prefill"; tokens: number };

/** Priority order: the small decode batches, the prefills but the longest, the largest batch (the most KV: it may
 *  drop layers, which the phases after it then run without), the longest prefill. */
function phaseOrder(o: RandomBenchOptions): Phase[] {
  const batches = [...o.batches].sort((a, b) => a - b), last = batches.pop()!;
  const prefills = [...o.prefillLengths].sort((a, b) => a - b).map((tokens): Phase => ({ phase: "prefill", tokens }));
  return [
    ...batches.map((batch): Phase => ({ phase: "decode", batch })),
    ...prefills.slice(0, -1),
    { phase: "decode", batch: last },
    ...prefills.slice(-1),
  ];
}

/** Rough seconds a phase takes from what ran before (for skipping, never reported as a figure). */
function predictSeconds(p: Phase, o: RandomBenchOptions, rate: Rates): number {
  if (!rate.promptTokensPerSecond) return 0;
  if (p.phase === "prefill") return (p.tokens / rate.promptTokensPerSecond) * (1 + p.tokens / 16384);
  const steps = (o.decodeSteps + 1) * (rate.stepMs / 1000) * (1 + p.batch / 32) / (1 + rate.stepBatch / 32);
  return (p.batch * o.promptTokens) / rate.promptTokensPerSecond + steps;
}

interface Rates {
  promptTokensPerSecond: number;
  stepMs: number;
  stepBatch: number;
}

function runPhases(
  backend: Backend,
  loaded: LoadedModel,
  loadedLayers: number,
  o: RandomBenchOptions,
  result: RandomBenchResult,
  started: number,
  memory: { usable: number; workspace: number },
): void {
  const full = o.config.text;
  const timed = timedBackend(backend), maxRows = Math.max(...o.batches);
  const decodeContext = o.promptTokens + o.decodeSteps + WARMUP_STEPS + 1; // the prompt, warm-up and timed steps
  const maxPositions = loaded.model.maxPositions, rate: Rates = { promptTokensPerSecond: 0, stepMs: 0, stepBatch: 1 };
  let layers = loadedLayers;
  for (const p of phaseOrder(o)) {
    const label = p.phase === "decode" ? `decode batch ${p.batch}` : `prefill ${p.tokens}`;
    const kvTokens = p.phase === "decode" ? p.batch * Math.ceil(decodeContext / BLOCK) * BLOCK : p.tokens + 2 + BLOCK;
    // drop layers (their weights) until this phase's KV fits beside the rest: counted against the memory found at
    // the start, since the CUDA library's pool keeps freed memory for reuse without reporting it free
    const fit = Math.min(layers, layersThatFit(full, memory.usable, memory.workspace, kvTokens, o.kvCacheDtype));
    if (fit < 1) {
      result.skipped.push(`${label}: ${kvTokens} tokens of KV do not fit even beside one layer`);
      o.log(`skipped ${result.skipped.at(-1)}`);
      continue;
    }
    const predicted = predictSeconds(p, o, rate) * (fit / Math.max(1, layers));
    const left = o.timeBudgetS - (performance.now() - started) / 1000;
    if (predicted > left) {
      result.skipped.push(
        `${label}: predicted ~${predicted.toFixed(0)} s, ${left.toFixed(0)} s left of --time-budget-s`,
      );
      o.log(`skipped ${result.skipped.at(-1)}`);
      continue;
    }
    if (fit < layers) {
      for (const layer of loaded.weights.layers.slice(fit, layers)) {
        for (const w of Object.values(layer)) w.buffer.dispose();
      }
      o.log(
        `${label}: dropped layers ${fit}..${layers - 1} so its ${kvTokens} tokens of KV fit; ${fit} layers from here`,
      );
      layers = fit;
    }
    const run = (n: number) => {
      const model = prefixModel(timed.backend, loaded, n, maxPositions, maxRows);
      try {
        return p.phase === "decode"
          ? runDecode(timed, model, p.batch, o.promptTokens, o.decodeSteps, o.kvCacheDtype)
          : runPrefill(timed, model, p.tokens, o.kvCacheDtype);
      } finally {
        model.dispose();
      }
    };
    // the base run for the scaling: one layer (the same one-call path), or none when only one ran
    let atLayers, baseline;
    try {
      atLayers = run(layers);
      const base = layers > 1 ? 1 : 0;
      baseline = layers < full.numLayers && !o.unscaled ? { layers: base, run: run(base) } : undefined;
    } catch (err) { // one phase's failure (out of memory, say) leaves the others' figures standing
      result.skipped.push(`${label}: failed: ${(err as Error).message}`);
      o.log(`${label} failed: ${(err as Error).message}`);
      continue;
    }
    const [batch, tokens] = p.phase === "decode" ? [p.batch, o.promptTokens] : [1, p.tokens];
    const figure = phaseFigure(full, result.ceilings, {
      phase: p.phase,
      batch,
      tokens,
      decodeSteps: o.decodeSteps,
      dtype: o.kvCacheDtype,
      layersRun: layers,
      atLayers,
      baseline,
    });
    result.phases.push(figure);
    o.log(formatPhase(figure, full.numLayers));
    o.onPhase?.(result);
    if (p.phase === "decode") Object.assign(rate, { stepMs: atLayers.ms[0], stepBatch: p.batch });
    rate.promptTokensPerSecond = atLayers.promptTokensPerSecond;
  }
}
