// The engine with decode buckets on (a CUDA runtime's default, graphs aside): requests arriving and finishing at
// different steps, so plain decode steps move between buckets, get the same events (tokens, log-probabilities and
// top log-probabilities, finish reasons) as without padding. On the portable kernels, where a padded batch's real
// rows are bit-identical (test/model/decode-buckets.test.ts).
import { describe, expect, it } from "vitest";
import { samplerFactory } from "../../runtime/sampling/sampler-factory.ts";
import { backend, makeEngine, prompt } from "../helpers/engine.ts";

const V = 512;

/** The run's events, and how many native steps carried padding rows (slot −1). */
function events(decodeBuckets: boolean) {
  const { engine, model, dispose } = makeEngine("tiny-mistral3", 160, 4);
  model.model.decodeShaping = { decodeBuckets, graphs: false };
  const step = backend.step.bind(backend);
  let paddedSteps = 0;
  backend.step = (packed, call) => {
    if (call.host.slots.includes(-1)) paddedSteps++;
    step(packed, call);
  };
  try {
    for (let i = 0; i < 7; i++) {
      const promptIds = prompt(3 + (i % 4) * 5, V, i);
      engine.add({
        requestId: `r${i}`,
        promptIds,
        maxTokens: 2 + 3 * i,
        sampler: samplerFactory({ temperature: 0.9, topP: 0.95, seed: 11 + i, logprobs: 2 }, V, promptIds),
      });
    }
    return { events: engine.runToCompletion().map(({ usage: _, ...e }) => e), paddedSteps };
  } finally {
    backend.step = step;
    model.model.decodeShaping = { decodeBuckets: false, graphs: false };
    dispose();
  }
}

describe("engine with decode buckets", () => {
  it("the same events with and without padding while the batch moves between buckets", () => {
    backend.useCpuFeatures(0);
    try {
      const padded = events(true), plain = events(false);
      expect(plain.events.length).toBeGreaterThan(20);
      expect(plain.paddedSteps).toBe(0);
      expect(padded.paddedSteps).toBeGreaterThan(3);
      expect(JSON.stringify(padded.events)).toBe(JSON.stringify(plain.events));
    } finally {
      backend.useCpuFeatures(-1);
    }
  });
});
