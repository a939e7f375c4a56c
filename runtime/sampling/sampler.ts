// The per-sequence sampler: one row of logits in, one token (with its raw log-probability) out.
//
// Pipeline, in vLLM's order: logit bias → penalties → temperature → top-k → top-p → min-p → draw.
//   * Greedy (temperature 0) is the argmax of the biased and penalised logits, first index on ties.
//   * Truncation rules (one total order: higher probability first, lower id on ties, see select.ts):
//       top-k keeps exactly the first k tokens of the order;
//       top-p keeps the shortest prefix of the order whose mass is ≥ top_p × the mass left after top-k;
//       min-p keeps the tokens (of what is left) with probability ≥ min_p × the top token's probability.
//   * The draw is the exponential race: token = argmax_i w_i / E_i with E_i = −ln u_i, where w_i is the
//     unnormalised probability and u_i a counter hash of (seed, step, i) (counter-hash.ts). This picks i
//     with probability w_i / Σw (E_i / w_i are independent exponentials with rates w_i, and the smallest
//     of them is the i-th with probability w_i / Σw), needs no normalisation, no cumulative sum and no
//     shared generator state: the result depends only on (seed, step, logits), never on batch
//     composition or call order, and a GPU can run it without a host round-trip.
// Log-probabilities are from the raw logits (logprobs.ts).
import { counterHashAt, counterHashPrefix, randomSeed, splitSeed } from "./counter-hash.ts";
import { expWeight, weightTotal } from "./exp-weight.ts";
import { logNormaliser, type TopLogprob, topLogprobs } from "./logprobs.ts";
import { type ResolvedSamplingParams, type SamplingParams, validateSamplingParams } from "./params.ts";
import { applyLogitBias, applyPenalties, TokenHistory } from "./penalties.ts";
import { selectTopCount, selectTopCountHeap, selectTopMass } from "./select.ts";

export type { TopLogprob } from "./logprobs.ts";

export interface SampleResult {
  token: number;
  /** log p(token) under the raw model distribution; NaN when the request asked for no log-probabilities. */
  logprob: number;
  /** The `logprobs` most likely tokens under the raw distribution, most likely first (only when asked). */
  topLogprobs?: TopLogprob[];
}

/** A row's inputs to the native sampler besides its params (SequenceSampler.nativeInputs). */
export interface NativeRowInputs {
  seedLo: number;
  seedHi: number;
  biasIds: Int32Array;
  biasValues: Float32Array;
  /** Generated id → times generated (frequency/presence), when a penalty is on. */
  counts: ReadonlyMap<number, number> | undefined;
  /** Distinct ids of prompt ∪ generated (repetition), empty when it is off. */
  seen: readonly number[];
}

const TWO_POW_32 = 4294967296;
/** The smallest E the race can draw (u's largest value); w / E_MIN bounds any entry's key. */
const E_MIN = -Math.log((TWO_POW_32 - 1 + 0.5) / TWO_POW_32);
/** Slack for the pruning bound so f64 rounding can never skip an entry that could win. */
const PRUNE_SLACK = 1 - 1e-9;
/** Largest top_k served by the heap selection (above it quickselect wins on a 131k row). */
const HEAP_TOP_K_LIMIT = 256;

// Scratch rows shared by every sampler: sampling is synchronous and single-threaded, and a 131k-wide row
// per sequence would cost hundreds of MB at a few hundred sequences. Grown on demand, never shrunk.
let rowBuf = new Float32Array(0);
let wBuf = new Float64Array(0);
let idxBuf = new Int32Array(0);
/** The max adjusted logit's first index, from the last `#weights` call. */
let lastArgmax = 0;

function ensureScratch(n: number): void {
  if (rowBuf.length >= n) return;
  rowBuf = new Float32Array(n);
  wBuf = new Float64Array(n);
  idxBuf = new Int32Array(n);
}

/** argmax over row[0, n), first index on ties; NaN never wins. */
function argmaxOf(row: Float32Array, n: number): number {
  let best = 0, bestV = -Infinity;
  for (let i = 0; i < n; i++) {
    if (row[i] > bestV) {
      bestV = row[i];
      best = i;
    }
  }
  return best;
}

export class SequenceSampler {
  readonly params: ResolvedSamplingParams;
  readonly vocabSize: number;
  /** The seed in use: the request's, or the random one chosen at creation (report it to reproduce a run). */
  readonly seed: number;
  readonly #seedLo: number;
  readonly #seedHi: number;
  readonly #biasIds: Int32Array;
  readonly #biasValues: Float32Array;
  readonly #history: TokenHistory | undefined;

  constructor(params: SamplingParams, vocabSize: number, promptIds: ArrayLike<number> = []) {
    this.params = validateSamplingParams(params, vocabSize);
    this.vocabSize = vocabSize;
    this.seed = this.params.seed ?? randomSeed();
    [this.#seedLo, this.#seedHi] = splitSeed(this.seed);
    const bias = Object.entries(this.params.logitBias);
    this.#biasIds = Int32Array.from(bias, ([id]) => Number(id));
    this.#biasValues = Float32Array.from(bias, ([, b]) => b);
    const p = this.params;
    const penalised = p.presencePenalty !== 0 || p.frequencyPenalty !== 0 || p.repetitionPenalty !== 1;
    this.#history = penalised ? new TokenHistory(Array.from(promptIds), p.repetitionPenalty !== 1) : undefined;
  }

  /**
   * Chooses the token for decode step `step` (the index of the token being generated; the engine keeps it
   * stable across preemption and batching). `generatedIds` are this sequence's output tokens so far,
   * forced ones included. `logits` is not modified. `rawLogits` is the row the reported log-probabilities are of
   * when it differs from the one drawn from (constrained decoding draws from a masked copy).
   */
  sample(
    logits: Float32Array,
    generatedIds: readonly number[],
    step: number,
    rawLogits: Float32Array = logits,
  ): SampleResult {
    this.#checkRow(logits);
    this.#checkRow(rawLogits);
    if (!(Number.isInteger(step) && step >= 0 && step < TWO_POW_32)) {
      throw new RangeError(`step must be an integer in [0, 2^32), got ${step}`);
    }
    const V = this.vocabSize, T = this.params.temperature;
    const row = this.adjustLogits(logits, generatedIds);
    const token = T === 0 ? argmaxOf(row, V) : this.#race(this.#truncate(this.#weights(row)), step);
    if (this.params.logprobs === null) return { token, logprob: NaN }; // not asked for: skip the pass over the row
    return this.#result(rawLogits, token, logNormaliser(rawLogits));
  }

  /**
   * The logits after logit bias and penalties: `logits` itself when neither applies, else a copy in `out`
   * (or in shared scratch, valid until the next call on any sampler).
   */
  adjustLogits(logits: Float32Array, generatedIds: readonly number[], out?: Float32Array): Float32Array {
    this.#checkRow(logits);
    const h = this.#history;
    if (this.#biasIds.length === 0 && !h) return logits;
    let row = out;
    if (!row) {
      ensureScratch(this.vocabSize);
      row = rowBuf.length === this.vocabSize ? rowBuf : rowBuf.subarray(0, this.vocabSize);
    } else if (row.length !== this.vocabSize) {
      throw new RangeError(`out has ${row.length} entries, expected ${this.vocabSize}`);
    }
    row.set(logits);
    applyLogitBias(row, this.#biasIds, this.#biasValues);
    if (h) {
      h.update(generatedIds);
      applyPenalties(row, h, this.params);
    }
    return row;
  }

  /**
   * What the native sampler (kernels/gust.h gust_sample, packed by native-sampler.ts) needs besides the
   * params: the seed words, the bias lists and the penalty statistics brought up to `generatedIds`.
   */
  nativeInputs(generatedIds: readonly number[]): NativeRowInputs {
    const h = this.#history;
    h?.update(generatedIds);
    return {
      seedLo: this.#seedLo,
      seedHi: this.#seedHi,
      biasIds: this.#biasIds,
      biasValues: this.#biasValues,
      counts: h?.counts,
      seen: this.params.repetitionPenalty !== 1 && h ? h.seen : [],
    };
  }

  /** The ids a draw at this point could return, ascending: [argmax] when greedy, else what truncation keeps. */
  keptTokens(logits: Float32Array, generatedIds: readonly number[]): Int32Array {
    const row = this.adjustLogits(logits, generatedIds);
    if (this.params.temperature === 0) return Int32Array.of(argmaxOf(row, this.vocabSize));
    const n = this.#truncate(this.#weights(row));
    return n < 0 ? Int32Array.from({ length: this.vocabSize }, (_, i) => i) : idxBuf.slice(0, n).sort();
  }

  /** The processed distribution a draw at this point samples from (bias, penalties, temperature, truncation),
   *  normalised over the kept ids; what speculative verification compares drafts against. */
  distribution(logits: Float32Array, generatedIds: readonly number[]): Float64Array {
    const V = this.vocabSize, p = new Float64Array(V);
    const row = this.adjustLogits(logits, generatedIds);
    if (this.params.temperature === 0) {
      p[argmaxOf(row, V)] = 1;
      return p;
    }
    const total = this.#weights(row);
    const n = this.#truncate(total);
    if (n < 0) { for (let i = 0; i < V; i++) p[i] = wBuf[i]; }
    else for (let j = 0; j < n; j++) p[idxBuf[j]] = wBuf[idxBuf[j]];
    let mass = 0;
    for (let i = 0; i < V; i++) mass += p[i];
    for (let i = 0; i < V; i++) p[i] /= mass;
    return p;
  }

  #checkRow(logits: Float32Array): void {
    if (logits.length !== this.vocabSize) {
      throw new RangeError(`logits row has ${logits.length} entries, expected the vocabulary size ${this.vocabSize}`);
    }
  }

  /** wBuf[i] = exp((row[i] − max) / T) (expWeight, the native samplers' exponential): unnormalised probabilities,
   *  the top one exactly 1. Returns Σ. */
  #weights(row: Float32Array): number {
    const V = this.vocabSize, T = this.params.temperature;
    ensureScratch(V);
    const w = wBuf;
    const imax = argmaxOf(row, V), max = row[imax];
    lastArgmax = imax;
    if (!(max > -Infinity) || max === Infinity) {
      throw new RangeError(
        `adjusted logits have no usable maximum (${max}): the model produced -inf/NaN/+inf everywhere`,
      );
    }
    for (let i = 0; i < V; i++) w[i] = expWeight((row[i] - max) / T); // NaN and -inf logits get weight 0
    return weightTotal(w, V);
  }

  /**
   * Applies top-k, top-p and min-p to wBuf. Returns the number of kept ids, held in idxBuf[0, n), or -1 when
   * nothing is filtered (the race then scans the whole row without building an index list).
   */
  #truncate(total: number): number {
    const V = this.vocabSize, w = wBuf, idx = idxBuf;
    const { topK, topP, minP } = this.params;
    let n = -1, mass = total;
    if (topK > 0) {
      // The same set either way; the heap is ~3× faster for small k, quickselect for large k (measured).
      if (topK <= HEAP_TOP_K_LIMIT) selectTopCountHeap(w, V, topK, idx);
      else {
        for (let i = 0; i < V; i++) idx[i] = i;
        selectTopCount(idx, V, w, topK);
      }
      n = topK;
      mass = 0;
      for (let j = 0; j < n; j++) mass += w[idx[j]];
    }
    if (topP < 1) {
      // Only ids with w ≥ t = (1 − p)·mass/count can be in the nucleus: all lighter ids together weigh less
      // than (1 − p)·mass, so the heavier ones already reach p·mass. One pass shrinks the selection input.
      const count = n < 0 ? V : n;
      const t = ((1 - topP) * mass) / count;
      let c = 0;
      if (n < 0) {
        for (let i = 0; i < V; i++) if (w[i] >= t) idx[c++] = i;
      } else {
        for (let j = 0; j < n; j++) if (w[idx[j]] >= t) idx[c++] = idx[j];
      }
      n = selectTopMass(idx, c, w, topP * mass);
    }
    if (minP > 0) {
      // The top token's weight is exactly 1, so the threshold min_p × p_max is min_p on the weight scale.
      let c = 0;
      if (n < 0) {
        for (let i = 0; i < V; i++) if (w[i] >= minP) idx[c++] = i;
      } else {
        for (let j = 0; j < n; j++) if (w[idx[j]] >= minP) idx[c++] = idx[j];
      }
      n = c;
    }
    return n;
  }

  /** The exponential race over idxBuf[0, n) (or the whole row when n < 0): argmax w_i / E_i. */
  #race(n: number, step: number): number {
    const w = wBuf, idx = idxBuf;
    const prefix = counterHashPrefix(this.#seedLo, this.#seedHi, step);
    // The top token is in every kept set (it is first in the order): starting from its key makes the
    // pruning below bite from the first entry. Meeting it again in the loop changes nothing.
    let best = lastArgmax;
    let bestKey = w[best] / -Math.log((counterHashAt(prefix, best) + 0.5) / TWO_POW_32);
    // Two exact prunings (same token as scanning everything), the slack covering f64 rounding: entry i's key is
    // at most w_i / E_MIN, so entries lighter than bestKey·E_MIN cannot win (their hash is skipped too); and
    // E_i = −ln u_i ≥ 1 − u_i, so neither can one with w_i ≤ (1 − u_i)·bestKey (its logarithm is skipped). With
    // a peaked distribution the first skips most of a 131k row, with a flat one the second does.
    let bound = bestKey * PRUNE_SLACK, skipBelow = bound * E_MIN;
    const all = n < 0, count = all ? this.vocabSize : n;
    for (let j = 0; j < count; j++) {
      const i = all ? j : idx[j];
      const wi = w[i];
      if (wi <= skipBelow) continue;
      const u = (counterHashAt(prefix, i) + 0.5) / TWO_POW_32;
      if (wi <= (1 - u) * bound) continue;
      const key = wi / -Math.log(u);
      if (key > bestKey || (key === bestKey && i < best)) {
        best = i;
        bestKey = key;
        bound = bestKey * PRUNE_SLACK;
        skipBelow = bound * E_MIN;
      }
    }
    return best;
  }

  #result(logits: Float32Array, token: number, logZ: number): SampleResult {
    const k = this.params.logprobs;
    const r: SampleResult = { token, logprob: logits[token] - logZ };
    if (k !== null && k > 0) r.topLogprobs = topLogprobs(logits, logZ, k);
    return r;
  }
}

/**
 * A result for a token the engine forces (e.g. [/THINK] when a reasoning budget runs out): its raw
 * log-probability, and the top alternatives when `logprobs` > 0, as if it had been sampled (NaN when the request
 * asked for no log-probabilities).
 */
export function forcedResult(logits: Float32Array, token: number, logprobs: number | null): SampleResult {
  if (!(Number.isInteger(token) && token >= 0 && token < logits.length)) {
    throw new RangeError(`forced token ${token} is outside the vocabulary [0, ${logits.length})`);
  }
  if (logprobs === null) return { token, logprob: NaN };
  const logZ = logNormaliser(logits);
  const r: SampleResult = { token, logprob: logits[token] - logZ };
  if (logprobs > 0) r.topLogprobs = topLogprobs(logits, logZ, logprobs);
  return r;
}
