// Decode throughput against batch size through the real engine (scheduler, paged KV, ragged batches):
// B requests prefill together, then K decode steps of B tokens each are timed.
// Scaling efficiency = tok/s at B ÷ (B × tok/s at 1): 1.0 means a batch costs no more than one token.
import type { Backend } from "../../ffi/backend.ts";
import { Engine, type EngineOptions } from "../engine/engine.ts";
import { KvCache } from "../model/kv-cache.ts";
import { type LoadedModel, loadModel } from "../model/load-model.ts";
import { samplerFactory } from "../sampling/sampler-factory.ts";

export interface BatchFigure {
  batch: number;
  tokensPerSecond: number;
  /** Tokens per second of process CPU time (all threads) over the same steps: on a shared machine, the rate the
   * cores gave while they ran this process. */
  tokensPerCpuSecond: number;
  efficiency: number;
}

/** An engine over a fresh cache for `batch` sequences of up to `maxLen` tokens, prompts of 8 prefilled at once. */
export function benchEngine(
  backend: Backend,
  loaded: LoadedModel,
  batch: number,
  maxLen: number,
  options: Partial<EngineOptions> = {},
): { engine: Engine; cache: KvCache } {
  const blockSize = 16,
    cache = new KvCache(backend, loaded.config.text, batch * Math.ceil(maxLen / blockSize), blockSize);
  const engine = new Engine(backend, loaded.model, cache, {
    thinkIds: null,
    eosId: loaded.config.text.eosId,
    maxNumSeqs: batch,
    maxBatchedTokens: batch * 8,
    ...options,
  });
  return { engine, cache };
}

export function measureBatchScaling(
  backend: Backend,
  dir: string,
  batches: number[],
  decodeSteps: number,
): BatchFigure[] {
  const promptLen = 8;
  const loaded = loadModel(dir, backend, { maxPositions: promptLen + decodeSteps + 8 });
  const figures: BatchFigure[] = [];
  try {
    const vocab = loaded.config.text.vocabSize;
    for (const batch of batches) {
      const { engine, cache } = benchEngine(backend, loaded, batch, promptLen + decodeSteps + 2);
      for (let b = 0; b < batch; b++) {
        const promptIds = Array.from({ length: promptLen }, (_, i) => (b * 97 + i * 13 + 5) % vocab);
        engine.add({
          requestId: `b${b}`,
          promptIds,
          maxTokens: decodeSteps + 2,
          ignoreEos: true,
          sampler: samplerFactory({ temperature: 0 }, vocab, promptIds), // greedy, drawn natively
        });
      }
      engine.step(); // prefill of every prompt in one step
      engine.step(); // first decode step (warm-up)
      const start = performance.now(), startCpu = process.cpuUsage();
      for (let s = 0; s < decodeSteps; s++) engine.step();
      const seconds = (performance.now() - start) / 1000, cpu = process.cpuUsage(startCpu);
      cache.dispose();
      const tokensPerSecond = (batch * decodeSteps) / seconds;
      const single = figures[0]?.tokensPerSecond ?? tokensPerSecond;
      const tokensPerCpuSecond = (batch * decodeSteps) / ((cpu.user + cpu.system) / 1e6);
      figures.push({ batch, tokensPerSecond, tokensPerCpuSecond, efficiency: tokensPerSecond / (batch * single) });
    }
  } finally {
    loaded.dispose();
  }
  return figures;
}
