// One phase of `gust bench --random-model` through the engine: B sequences decode after a prompt each, or one
// sequence prefills T tokens. Step times are wall time; "native" is the wall time spent inside native calls (the
// device's work and the waits for it), so the rest of a step is the host's share (scheduling, batch packing,
// sampling set-up, the FFI itself).
import type { Backend } from "../../ffi/backend.ts";
import { Engine } from "../engine/engine.ts";
import { KvCache, type KvCacheDtype } from "../model/kv-cache.ts";
import type { TextModel } from "../model/text-model.ts";
import { samplerFactory } from "../sampling/sampler-factory.ts";
import { fillHash } from "../weights/random-fill.ts";

export interface PhaseRun {
  /** Wall ms per decode step (median, min, max) or of the whole prefill. */
  ms: [number, number, number];
  /** Share of the timed wall time spent outside native calls. */
  hostShare: number;
  cpuMsPerStep: number;
  /** Decode: the prompts' prefill (all sequences) in tokens/s. */
  promptTokensPerSecond: number;
}

/** The backend with the wall time of every native call added up (methods bound to the real backend). */
export function timedBackend(backend: Backend): { backend: Backend; nativeMs: () => number } {
  let total = 0;
  const proxy = new Proxy(backend, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        const start = performance.now();
        try {
          return value.apply(target, args);
        } finally {
          total += performance.now() - start;
        }
      };
    },
  });
  return { backend: proxy, nativeMs: () => total };
}

/** Decode steps before the timed ones: CUDA graphs warm a decode bucket up on its first step and record it on the
 *  second (kernels/cuda/step_graph.cu), so the timed steps replay. */
export const WARMUP_STEPS = 2;

function spread(ms: number[]): [number, number, number] {
  const s = [...ms].sort((a, b) => a - b);
  return [s[Math.floor(s.length / 2)], s[0], s[s.length - 1]];
}

/** Distinct prompts (no prefix-cache hits): id i of sequence b from the fill hash, avoiding ids 0..2 (bos, eos). */
function prompt(b: number, length: number, vocab: number): number[] {
  return Array.from({ length }, (_, i) => 3 + (fillHash(7, b, i) % (vocab - 3)));
}

function engineFor(backend: Backend, model: TextModel, seqs: number, tokensEach: number, dtype: KvCacheDtype) {
  const cache = new KvCache(backend, model.config, seqs * Math.ceil(tokensEach / 16), 16, dtype);
  model.kvFormats(dtype); // FP8 scales are calibrated now, outside the timed steps
  const engine = new Engine(backend, model, cache, {
    thinkIds: null,
    eosId: model.config.eosId,
    maxNumSeqs: seqs,
    maxBatchedTokens: model.stepCaps.maxTokens,
  });
  return { engine, cache };
}

function addRequests(engine: Engine, vocab: number, seqs: number, promptTokens: number, maxTokens: number): void {
  for (let b = 0; b < seqs; b++) {
    const promptIds = prompt(b, promptTokens, vocab);
    const sampler = samplerFactory({ temperature: 0 }, vocab, promptIds);
    engine.add({ requestId: `r${b}`, promptIds, maxTokens, ignoreEos: true, sampler });
  }
}

/** Steps until every sequence has its first token; returns the wall ms. */
function prefillAll(engine: Engine, seqs: number): number {
  const started = new Set<string>(), start = performance.now();
  while (started.size < seqs) {
    if (!engine.hasWork) throw new Error("the engine stopped before every prompt was prefilled");
    for (const e of engine.step()) if (e.tokens.length > 0) started.add(e.requestId);
  }
  return performance.now() - start;
}

export function runDecode(
  timed: ReturnType<typeof timedBackend>,
  model: TextModel,
  batch: number,
  promptTokens: number,
  decodeSteps: number,
  dtype: KvCacheDtype,
): PhaseRun {
  const vocab = model.config.vocabSize;
  const { engine, cache } = engineFor(
    timed.backend,
    model,
    batch,
    promptTokens + decodeSteps + WARMUP_STEPS + 1,
    dtype,
  );
  try {
    addRequests(engine, vocab, batch, promptTokens, decodeSteps + WARMUP_STEPS + 1);
    const prefillMs = prefillAll(engine, batch);
    for (let s = 0; s < WARMUP_STEPS; s++) engine.step();
    const stepMs: number[] = [], native0 = timed.nativeMs(), cpu0 = process.cpuUsage();
    for (let s = 0; s < decodeSteps; s++) {
      const start = performance.now();
      engine.step();
      stepMs.push(performance.now() - start);
    }
    const wall = stepMs.reduce((a, b) => a + b, 0), cpu = process.cpuUsage(cpu0);
    return {
      ms: spread(stepMs),
      hostShare: Math.max(0, 1 - (timed.nativeMs() - native0) / wall),
      cpuMsPerStep: (cpu.user + cpu.system) / 1000 / decodeSteps,
      promptTokensPerSecond: (batch * promptTokens * 1000) / prefillMs,
    };
  } finally {
    cache.dispose();
  }
}

export function runPrefill(
  timed: ReturnType<typeof timedBackend>,
  model: TextModel,
  tokens: number,
  dtype: KvCacheDtype,
): PhaseRun {
  const { engine, cache } = engineFor(timed.backend, model, 1, tokens + 2, dtype);
  try {
    addRequests(engine, model.config.vocabSize, 1, tokens, 1);
    const native0 = timed.nativeMs(), cpu0 = process.cpuUsage();
    const ms = prefillAll(engine, 1), cpu = process.cpuUsage(cpu0);
    return {
      ms: [ms, ms, ms],
      hostShare: Math.max(0, 1 - (timed.nativeMs() - native0) / ms),
      cpuMsPerStep: (cpu.user + cpu.system) / 1000,
      promptTokensPerSecond: (tokens * 1000) / ms,
    };
  } finally {
    cache.dispose();
  }
}
