// The engine-free oracle the engine tests compare against: one sequence from prompt to finish on
// SingleSequence (prefill in chunks, then decode until max tokens or a stop token), plain greedy or
// temperature sampling from a seeded stream.
import type { Backend } from "../../ffi/backend.ts";
import { ImageFeatureCursor, type ImageFeatures } from "../../runtime/model/image-prefill.ts";
import { SingleSequence } from "../../runtime/model/single-sequence.ts";
import type { TextModel } from "../../runtime/model/text-model.ts";
import { argmax, logSoftmax } from "../../runtime/sampling/basic.ts";
import { Rng } from "../../runtime/sampling/rng.ts";
import type { KvCacheDtype } from "../../runtime/model/kv-cache.ts";

export interface GenerateOptions {
  maxTokens: number;
  temperature: number;
  seed?: number;
  ignoreEos?: boolean;
  stopIds?: number[];
  /** Largest prefill chunk in tokens (long prompts run in several forwards). */
  prefillChunk?: number;
  /** Vision-tower outputs for the prompt's [IMG] tokens (VisionModel.encode), consumed in order. */
  images?: ImageFeatures;
  /** KV cache storage (default f32, the reference). */
  kvDtype?: KvCacheDtype;
}

export interface GenerateResult {
  promptIds: number[];
  ids: number[];
  /** Log-probability of each generated token under the model (before temperature). */
  logprobs: number[];
  finishReason: "stop" | "length";
}

export function generate(
  backend: Backend,
  model: TextModel,
  promptIds: number[],
  opts: GenerateOptions,
): GenerateResult {
  if (promptIds.length === 0) throw new RangeError("The prompt is empty: pass at least one token id.");
  if (!(Number.isInteger(opts.maxTokens) && opts.maxTokens >= 0)) {
    throw new RangeError(`max tokens must be a non-negative integer, got ${opts.maxTokens}`);
  }
  const vocab = model.config.vocabSize;
  promptIds.forEach((id, i) => {
    if (!(Number.isInteger(id) && id >= 0 && id < vocab)) {
      throw new RangeError(`Prompt token ${i} is ${id}, outside the vocabulary [0, ${vocab})`);
    }
  });
  const total = promptIds.length + opts.maxTokens;
  if (total > model.maxPositions) {
    throw new RangeError(
      `Prompt (${promptIds.length}) plus max tokens (${opts.maxTokens}) is ${total}, over the model's context of ${model.maxPositions}`,
    );
  }
  const stop = new Set(opts.ignoreEos ? [] : [model.config.eosId, ...(opts.stopIds ?? [])]);
  const rng = new Rng(opts.seed ?? 0);
  const chunk = opts.prefillChunk ?? 512;
  if (opts.images) ImageFeatureCursor.check(promptIds, opts.images);
  const cursor = opts.images ? new ImageFeatureCursor(opts.images) : null;
  const seq = new SingleSequence(backend, model, Math.max(total, 1), 16, opts.kvDtype);
  try {
    let logits: Float32Array = new Float32Array(0);
    for (let start = 0; start < promptIds.length; start += chunk) {
      const ids = promptIds.slice(start, start + chunk);
      logits = seq.append(ids, { imageEmbeddings: cursor?.take(ids) }).logits;
    }
    const ids: number[] = [], logprobs: number[] = [];
    let finishReason: GenerateResult["finishReason"] = "length";
    while (ids.length < opts.maxTokens) {
      const token = sampleToken(logits, opts.temperature, rng);
      ids.push(token);
      logprobs.push(logSoftmax(logits)[token]);
      if (stop.has(token)) {
        finishReason = "stop";
        break;
      }
      if (ids.length < opts.maxTokens) logits = seq.append([token]).logits;
    }
    return { promptIds: [...promptIds], ids, logprobs, finishReason };
  } finally {
    seq.dispose();
  }
}

/** Samples from softmax(logits / temperature); temperature 0 is greedy. */
function sampleToken(logits: Float32Array, temperature: number, rng: Rng): number {
  if (temperature <= 0) return argmax(logits);
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  const weights = new Float64Array(logits.length);
  let total = 0;
  for (let i = 0; i < logits.length; i++) total += weights[i] = Math.exp((logits[i] - max) / temperature);
  let u = rng.nextFloat() * total;
  for (let i = 0; i < weights.length; i++) {
    u -= weights[i];
    if (u < 0) return i;
  }
  return argmax(logits);
}
