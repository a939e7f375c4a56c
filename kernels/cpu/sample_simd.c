/* AVX2 twins of the sampler's two full-row loops (kernels/sample_core.h): the argmax and the weights' exponential
 * (kernels/sample_exp.h). Same bits as the scalar loops: separate multiplies and adds (target avx2 without fma, so
 * nothing is fused), the same operations in the same order per entry; the scalar loops serve the tails and
 * machines without AVX2. test/sampling/native.test.ts holds both against the TypeScript spec. */
#include <immintrin.h>

#include "internal.h"
/* after internal.h */
#include "../sample_core.h"

#if defined(__x86_64__)
/* max over the non-NaN entries (max_ps(x, m) keeps m when x is NaN), then the first index holding it */
__attribute__((target("avx2"))) static int32_t row_argmax_avx2(const float *row, int32_t n) {
  __m256 m8 = _mm256_set1_ps(-INFINITY);
  int32_t i = 0;
  for (; i + 8 <= n; i += 8) m8 = _mm256_max_ps(_mm256_loadu_ps(row + i), m8);
  float lanes[8], best = -INFINITY;
  _mm256_storeu_ps(lanes, m8);
  for (int j = 0; j < 8; j++)
    if (lanes[j] > best) best = lanes[j];
  for (; i < n; i++)
    if (row[i] > best) best = row[i];
  if (!(best > -INFINITY)) return 0; /* every entry −∞ or NaN: the scalar loop's answer */
  for (i = 0; i < n; i++)
    if (row[i] == best) return i;
  return 0;
}

__attribute__((target("avx2"))) static double fill_weights_avx2(const float *row, int32_t V, double max, double T,
                                                               double *w) {
  const __m256d vmax = _mm256_set1_pd(max), vt = _mm256_set1_pd(T), floor = _mm256_set1_pd(GUST_EXP_FLOOR);
  const __m256d log2e = _mm256_set1_pd(GUST_EXP_LOG2E), shifter = _mm256_set1_pd(GUST_EXP_SHIFTER);
  const __m256d ln2_hi = _mm256_set1_pd(GUST_EXP_LN2_HI), ln2_lo = _mm256_set1_pd(GUST_EXP_LN2_LO);
  const __m256i bias = _mm256_set1_epi64x(1023);
  __m256d sums = _mm256_setzero_pd(); /* lane j: the ids ≡ j mod 4 */
  int32_t i = 0;
  for (; i + 4 <= V; i += 4) {
    __m256d x = _mm256_div_pd(_mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(row + i)), vmax), vt);
    __m256d keep = _mm256_cmp_pd(x, floor, _CMP_GE_OQ); /* false for NaN and below the floor: weight 0 */
    x = _mm256_blendv_pd(floor, x, keep);
    __m256d t = _mm256_add_pd(_mm256_mul_pd(x, log2e), shifter);
    __m256d k = _mm256_sub_pd(t, shifter);
    __m256d r = _mm256_sub_pd(_mm256_sub_pd(x, _mm256_mul_pd(k, ln2_hi)), _mm256_mul_pd(k, ln2_lo));
    __m256d p = _mm256_set1_pd(gust_exp_coefficient(0));
    for (int j = 1; j <= GUST_EXP_DEGREE; j++)
      p = _mm256_add_pd(_mm256_mul_pd(p, r), _mm256_set1_pd(gust_exp_coefficient(j)));
    __m256i scale = _mm256_slli_epi64(_mm256_add_epi64(_mm256_castpd_si256(t), bias), 52);
    __m256d e = _mm256_and_pd(_mm256_mul_pd(p, _mm256_castsi256_pd(scale)), keep);
    _mm256_storeu_pd(w + i, e);
    sums = _mm256_add_pd(sums, e);
  }
  double s[4];
  _mm256_storeu_pd(s, sums);
  for (; i < V; i++) s[i & 3] += w[i] = gust_exp_weight(((double)row[i] - max) / T); /* i is a multiple of 4 here */
  return (s[0] + s[1]) + (s[2] + s[3]);
}
#endif

int32_t gust_row_argmax_cpu(const float *row, int32_t n) {
#if defined(__x86_64__)
  if (gust_has_avx2) return row_argmax_avx2(row, n);
#endif
  return gust_row_argmax(row, n);
}

double gust_fill_weights_cpu(const float *row, int32_t V, double max, double T, double *w) {
#if defined(__x86_64__)
  if (gust_has_avx2) return fill_weights_avx2(row, V, max, T, w);
#endif
  return gust_fill_weights(row, V, max, T, w);
}
