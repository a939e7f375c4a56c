// Builds an engine over a fixture model for tests.
import { createBackend } from "../../ffi/backend.ts";
import { Engine, type EngineOptions } from "../../runtime/engine/engine.ts";
import type { TokenSampler } from "../../runtime/sampling/token-sampler.ts";
import { KvCache, type KvCacheDtype } from "../../runtime/model/kv-cache.ts";
import { type LoadedModel, loadModel } from "../../runtime/model/load-model.ts";
import { argmax, logSoftmax } from "../../runtime/sampling/basic.ts";
import { fixtureDir } from "./fixtures.ts";
import { openParallel, type ParallelModel } from "./tensor-parallel.ts";

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
const groups: ParallelModel[] = [];
/** The fixture loaded once per process; at `tensorParallel` > 1 this process is rank 0 of real follower processes. */
export function fixtureModel(name: string, tensorParallel = 1): LoadedModel {
  const key = `${name}@${tensorParallel}`;
  let m = models.get(key);
  if (!m) {
    if (tensorParallel > 1) {
      const group = openParallel(backend, fixtureDir(name), tensorParallel);
      groups.push(group);
      m = group.loaded;
    } else m = loadModel(fixtureDir(name), backend);
    models.set(key, m);
  }
  return m;
}

/** Stops the follower processes of every tensor-parallel fixture (call in afterAll). */
export function closeParallelFixtures(): void {
  for (const g of groups.splice(0)) g.close();
  for (const key of [...models.keys()]) if (!key.endsWith("@1")) models.delete(key);
}

export function makeEngine(
  name: string,
  numBlocks: number,
  blockSize: number,
  options: Partial<EngineOptions> = {},
  tensorParallel = 1,
  kvDtype: KvCacheDtype = "f32",
) {
  const m = fixtureModel(name, tensorParallel);
  const cache = new KvCache(backend, m.model.config, numBlocks, blockSize, kvDtype);
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
