// Per-layer FP8 KV scales, measured once per model: a fixed calibration prompt runs through an f32 cache and
// each layer's scale is amax · headroom / 448 (448 = the largest E4M3 value). Fixed scales keep every
// request's cache bytes independent of which requests came first, so batching and prefix caching stay exact.
//
// Why headroom 4: E4M3 has the same 3-bit relative precision anywhere in its normal range (2^-6 .. 448), so a
// larger scale costs only the tiniest values (below amax · 4 / 448 / 64 ≈ amax · 1.4e-4, which barely move an
// attention output) while keys up to 4× the calibration's largest are stored unclipped.
import { type Backend, f32KvFormat, type KvFormat } from "../../ffi/backend.ts";
import { type KvCacheDtype, kvNativeDtype } from "./kv-cache.ts";
import { SingleSequence } from "./single-sequence.ts";
import type { TextModel } from "./text-model.ts";

export const FP8_KV_HEADROOM = 4;
const E4M3_MAX = 448;
const CALIBRATION_TOKENS = 64;

export interface KvScales {
  /** Per layer: stored code = e4m3(x / scale). */
  k: Float32Array;
  v: Float32Array;
}

/** Token ids of the calibration prompt: a fixed stride through the vocabulary (7919 is prime, so they differ). */
export function calibrationIds(vocab: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => (1 + i * 7919) % vocab);
}

export function calibrateKvScales(backend: Backend, model: TextModel): KvScales {
  const c = model.config, numTokens = Math.min(CALIBRATION_TOKENS, model.maxPositions);
  const seq = new SingleSequence(backend, model, numTokens, 16, "f32");
  try {
    seq.append(calibrationIds(c.vocabSize, numTokens));
    // slots 0 .. numTokens − 1 hold the prompt (blocks 0, 1, … in order)
    const values = new Float32Array(numTokens * c.numKvHeads * c.headDim);
    const scaleOf = (buffer: (typeof seq.cache.k)[number]) => {
      let amax = 0;
      for (const x of backend.download(buffer, values)) amax = Math.max(amax, Math.abs(x));
      return amax > 0 && Number.isFinite(amax) ? (amax * FP8_KV_HEADROOM) / E4M3_MAX : 1;
    };
    return {
      k: Float32Array.from(seq.cache.k, scaleOf),
      v: Float32Array.from(seq.cache.v, scaleOf),
    };
  } finally {
    seq.dispose();
  }
}

/** How each layer's K/V are stored in a cache of `dtype` (TextModel.kvFormats memoises it per model). */
export function layerKvFormats(backend: Backend, model: TextModel, dtype: KvCacheDtype): KvFormat[] {
  const layers = Array.from({ length: model.config.numLayers }, (_, l) => l);
  if (dtype !== "fp8") return layers.map(() => ({ ...f32KvFormat, dtype: kvNativeDtype[dtype] }));
  // calibration is one rank's own forward; its followers would have to join it step for step
  if (model.parallel && model.parallel.comm.numRanks > 1) {
    throw new Error(
      "--kv-cache-dtype fp8 does not run with --tensor-parallel above 1 yet (its scales are calibrated by a " +
        "forward the follower ranks do not join); use --kv-cache-dtype bf16",
    );
  }
  const scales = calibrateKvScales(backend, model);
  return layers.map((l) => ({ dtype: kvNativeDtype.fp8, kScale: scales.k[l], vScale: scales.v[l] }));
}
