/* The sampler's exponential (a port of runtime/sampling/exp-weight.ts), shared by the CPU and CUDA samplers and the
 * CPU's AVX2 twin (kernels/cpu/sample_simd.c): exp(x) for the weights exp((logit − max) / T), in plain f64 adds and
 * multiplies that C, CUDA and JavaScript round alike (no libm, whose exp differs between them, and no fused
 * multiply-add: CUDA's are spelled __dmul_rn / __dadd_rn so nvcc cannot fuse them). Not part of the ABI.
 *
 * x = k·ln2 + r: k = round(x·log2 e) by adding 1.5·2^52 (the sum's low mantissa bits are k), r = x − k·ln2 in
 * two parts (ln2's high part has trailing zeros, so k·LN2_HI is exact), e^r by Horner on the Taylor series to
 * degree 12 (|r| ≤ 0.35: within 2.2 ulp of libm's exp over [−700, 0]), times 2^k built from k's bits. x < −700 or
 * NaN gives 0: a weight below e^−700 ≈ 1e−304 beside the top weight 1 changes nothing.
 * Example: x = −1 → k = −1, r = −1 + ln2 = −0.306853, e^r = 0.735759, × 2^−1 = 0.367879 = e^−1. */
#ifndef GUST_SAMPLE_EXP_H
#define GUST_SAMPLE_EXP_H

#include <stdint.h>
#include <string.h>

#include "sample_select.h"

#ifdef __CUDA_ARCH__
#define GUST_DMUL(a, b) __dmul_rn((a), (b))
#define GUST_DADD(a, b) __dadd_rn((a), (b))
#define GUST_DSUB(a, b) __dsub_rn((a), (b))
#else
#define GUST_DMUL(a, b) ((a) * (b))
#define GUST_DADD(a, b) ((a) + (b))
#define GUST_DSUB(a, b) ((a) - (b))
#endif

#define GUST_EXP_FLOOR (-700.0)
#define GUST_EXP_LOG2E 1.4426950408889634
#define GUST_EXP_SHIFTER 6755399441055744.0 /* 1.5 · 2^52 */
#define GUST_EXP_LN2_HI 0x1.62e42feep-1     /* ln 2 to 32 bits */
#define GUST_EXP_LN2_LO 0x1.a39ef35793c76p-33
#define GUST_EXP_DEGREE 12

/* 1 / n! for n = 12 down to 0, Horner's order */
static inline GUST_SC double gust_exp_coefficient(int j) {
  const double c[GUST_EXP_DEGREE + 1] = {1.0 / 479001600, 1.0 / 39916800, 1.0 / 3628800, 1.0 / 362880, 1.0 / 40320,
                                         1.0 / 5040,      1.0 / 720,      1.0 / 120,     1.0 / 24,     1.0 / 6,
                                         1.0 / 2,         1.0,            1.0};
  return c[j];
}

static inline GUST_SC double gust_exp_weight(double x) {
  if (!(x >= GUST_EXP_FLOOR)) return 0;
  double t = GUST_DADD(GUST_DMUL(x, GUST_EXP_LOG2E), GUST_EXP_SHIFTER);
  double k = GUST_DSUB(t, GUST_EXP_SHIFTER);
  double r = GUST_DSUB(GUST_DSUB(x, GUST_DMUL(k, GUST_EXP_LN2_HI)), GUST_DMUL(k, GUST_EXP_LN2_LO));
  double p = gust_exp_coefficient(0);
  for (int j = 1; j <= GUST_EXP_DEGREE; j++) p = GUST_DADD(GUST_DMUL(p, r), gust_exp_coefficient(j));
  int64_t bits; /* t's low bits hold k: 2^k's exponent field is k + 1023 */
  memcpy(&bits, &t, sizeof bits);
  int64_t scale_bits = (int64_t)((uint64_t)(bits + 1023) << 52);
  double scale;
  memcpy(&scale, &scale_bits, sizeof scale);
  return GUST_DMUL(p, scale);
}

/* w[i] = gust_exp_weight((row[i] − max) / T) for i < V; returns Σ w as four interleaved sums (lane j adds the ids
 * i ≡ j mod 4 in index order), then (s0 + s1) + (s2 + s3): the order a 4-lane vector loop adds in, and one add
 * latency per 4 ids instead of per id. The CPU swaps in its AVX2 twin (kernels/cpu/sample_simd.c), same bits. */
static inline GUST_SC double gust_fill_weights(const float *row, int32_t V, double max, double T, double *w) {
  double s[4] = {0, 0, 0, 0};
  for (int32_t i = 0; i < V; i++) s[i & 3] = GUST_DADD(s[i & 3], w[i] = gust_exp_weight(((double)row[i] - max) / T));
  return GUST_DADD(GUST_DADD(s[0], s[1]), GUST_DADD(s[2], s[3]));
}

#endif
