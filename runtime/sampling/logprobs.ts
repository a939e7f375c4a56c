// Log-probabilities reported to the client. They come from the raw model distribution, log_softmax of the
// logits as the model produced them (vLLM's default "raw_logprobs"), not from the distribution after bias,
// penalties, temperature and truncation: that is what clients compare across settings and runs.

export interface TopLogprob {
  token: number;
  logprob: number;
}

/** log Σ exp(logits), in f64 with the max subtracted so large logits do not overflow. */
export function logNormaliser(logits: Float32Array): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  if (!(max > -Infinity) || max === Infinity) {
    throw new RangeError(`logits row has no usable maximum (${max}): the model produced -inf/NaN/+inf everywhere`);
  }
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  return max + Math.log(sum);
}

/**
 * The n most likely tokens under log-probabilities logits - logZ, most likely first, equal logits by lower
 * id. One pass with a sorted buffer of n ≤ 20 entries: no per-vocabulary allocation.
 */
export function topLogprobs(logits: Float32Array, logZ: number, n: number): TopLogprob[] {
  n = Math.min(n, logits.length);
  if (n <= 0) return [];
  const ids = new Int32Array(n);
  const vals = new Float64Array(n).fill(-Infinity);
  let filled = 0;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i];
    if (v !== v) continue; // NaN never ranks
    // Strict ">" against the last entry: an equal value met later has a higher id, so it ranks after.
    if (filled === n && !(v > vals[n - 1])) continue;
    let j = filled < n ? filled++ : n - 1;
    while (j > 0 && v > vals[j - 1]) {
      vals[j] = vals[j - 1];
      ids[j] = ids[j - 1];
      j--;
    }
    vals[j] = v;
    ids[j] = i;
  }
  const out: TopLogprob[] = new Array(filled);
  for (let j = 0; j < filled; j++) out[j] = { token: ids[j], logprob: vals[j] - logZ };
  return out;
}
