// The sampler's exponential: exp(x) for the weights exp((logit − max) / T), x ≤ 0, in plain f64 adds and multiplies
// so that the native samplers (kernels/sample_exp.h: C, its AVX2 twin, CUDA) compute the same bits. Math.exp and
// C's exp agree on this machine but need not elsewhere, and only this form vectorises in C (4 lanes of AVX2).
//
// x = k·ln2 + r: k = round(x·log2 e) by adding 1.5·2^52 (rounding to an integer happens in that add), r = x − k·ln2
// in two parts (LN2_HI has trailing zero bits, so k·LN2_HI is exact), e^r by Horner on the Taylor series to degree 12
// (|r| ≤ 0.35: within 2.2 ulp of exp over [−700, 0]), times 2^k. x < −700 or NaN gives 0 (a weight below
// e^−700 ≈ 1e−304 beside the top weight 1 changes nothing).
// Example: x = −1 → k = −1, r = −1 + ln2 = −0.306853, e^r = 0.735759, × 2^−1 = 0.367879 = e^−1.

const FLOOR = -700;
const SHIFTER = 6755399441055744; // 1.5 · 2^52
const LN2_HI = 0x162e42fee / 2 ** 33; // ln 2 to 32 bits
const LN2_LO = 0x1a39ef35793c76 / 2 ** 85; // the rest
// 1 / n! for n = 2..12 (Horner from the highest; the degree-1 and degree-0 coefficients are 1)
const C12 = 1 / 479001600, C11 = 1 / 39916800, C10 = 1 / 3628800, C9 = 1 / 362880, C8 = 1 / 40320, C7 = 1 / 5040;
const C6 = 1 / 720, C5 = 1 / 120, C4 = 1 / 24, C3 = 1 / 6, C2 = 1 / 2;
/** 2^k for k in [−1023, 0] at k + 1023 (halving is exact down to the smallest normal). */
const POW2 = Float64Array.from({ length: 1024 }, (_, i) => 2 ** (i - 1023));

export function expWeight(x: number): number {
  if (!(x >= FLOOR)) return 0;
  const k = x * Math.LOG2E + SHIFTER - SHIFTER;
  const r = x - k * LN2_HI - k * LN2_LO;
  let p = C12 * r + C11;
  p = p * r + C10;
  p = p * r + C9;
  p = p * r + C8;
  p = p * r + C7;
  p = p * r + C6;
  p = p * r + C5;
  p = p * r + C4;
  p = p * r + C3;
  p = p * r + C2;
  p = p * r + 1;
  p = p * r + 1;
  return p * POW2[k + 1023];
}

/** Σ w as four interleaved sums (lane j adds the ids ≡ j mod 4 in index order), then (s0 + s1) + (s2 + s3): the
 *  order the native samplers' 4-lane vector loop adds in (kernels/sample_exp.h). */
export function weightTotal(w: Float64Array, n = w.length): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0, i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += w[i];
    s1 += w[i + 1];
    s2 += w[i + 2];
    s3 += w[i + 3];
  }
  if (i < n) s0 += w[i];
  if (i + 1 < n) s1 += w[i + 1];
  if (i + 2 < n) s2 += w[i + 2];
  return (s0 + s1) + (s2 + s3);
}
