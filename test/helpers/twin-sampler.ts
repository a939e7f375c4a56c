// A SequenceSampler whose every draw is also made by the native sampler (kernels gust_sample) and must be the
// same token with the same log-probabilities: the sampler suites run through it, so each of their cases holds the
// native twin equal to the TypeScript spec.
import { expect } from "vitest";
import { createBackend } from "../../ffi/backend.ts";
import { NativeSampler } from "../../runtime/sampling/native-sampler.ts";
import { type SampleResult, SequenceSampler } from "../../runtime/sampling/sampler.ts";

const backend = createBackend("cpu");
const natives = new Map<number, NativeSampler>();
export let twinDraws = 0;

/** The allowed-id bits of a masked copy: an id is allowed where the masked row kept the raw value. */
function maskOf(masked: Float32Array, raw: Float32Array): Uint32Array {
  const bits = new Uint32Array((raw.length + 31) >> 5);
  for (let i = 0; i < raw.length; i++) {
    const kept = Object.is(masked[i], raw[i]) || masked[i] === raw[i];
    if (!kept && masked[i] !== -Infinity) throw new Error(`twin sampler: entry ${i} is changed, not masked`);
    if (kept) bits[i >> 5] |= 1 << (i & 31);
  }
  return bits;
}

export class TwinSampler extends SequenceSampler {
  override sample(
    logits: Float32Array,
    generatedIds: readonly number[],
    step: number,
    rawLogits: Float32Array = logits,
  ): SampleResult {
    const spec = super.sample(logits, generatedIds, step, rawLogits);
    let native = natives.get(this.vocabSize);
    if (!native) natives.set(this.vocabSize, native = new NativeSampler(backend, this.vocabSize));
    const mask = rawLogits === logits ? undefined : maskOf(logits, rawLogits);
    using row = backend.borrowHost(rawLogits);
    const [got] = native.sample(row, 1, [{ sampler: this, generatedIds, step, logitsRow: 0, mask }]);
    twinDraws++;
    // plain comparisons first: the χ² suites draw hundreds of thousands of times
    const same = got.token === spec.token && Object.is(got.logprob, spec.logprob) &&
      JSON.stringify(got.topLogprobs) === JSON.stringify(spec.topLogprobs);
    if (!same) expect(got, `native sampler at step ${step} (seed ${this.seed})`).toEqual(spec);
    return spec;
  }
}
