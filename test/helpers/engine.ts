// Builds an engine over a fixture model for tests.
import { createBackend } from "../../ffi/backend.ts";
import { Engine, type EngineOptions } from "../../runtime/engine/engine.ts";
import type { TokenSampler } from "../../runtime/sampling/token-sampler.ts";
import { KvCache } from "../../runtime/model/kv-cache.ts";
import { type LoadedModel, loadModel } from "../../runtime/model/load-model.ts";
import { argmax, logSoftmax } from "../../runtime/sampling/basic.ts";
import { fixtureDir } from "./fixtures.ts";

export const backend = createBackend("cpu");

/** Plain argmax: the engine's unit tests do not depend on the sampler's internals. */
export const greedySampler: TokenSampler = {
  sample: (logits) => {
    const token = argmax(logits);
    return { token, logprob: logSoftmax(logits)[token] };
  },
  forced: (logits, token) => ({ token, logprob: logSoftmax(logits)[token] }),
};

const models = new Map<string, LoadedModel>();
export function fixtureModel(name: string): LoadedModel {
  let m = models.get(name);
  if (!m) {
    m = loadModel(fixtureDir(name), backend);
    models.set(name, m);
  }
  return m;
}

export function makeEngine(name: string, numBlocks: number, blockSize: number, options: Partial<EngineOptions> = {}) {
  const m = fixtureModel(name);
  const cache = new KvCache(backend, m.config.text, numBlocks, blockSize);
  const engine = new Engine(backend, m.model, cache, {
    thinkIds: { think: 34, endThink: 35 },
    eosId: m.config.text.eosId,
    ...options,
  });
  return { engine, cache, model: m, dispose: () => cache.dispose() };
}

export function prompt(n: number, vocab: number, salt: number): number[] {
  return Array.from({ length: n }, (_, i) => 40 + ((i * 37 + salt * 101 + ((i * salt) % 7)) % (vocab - 40)));
}
