/* FP8 activations for gust_linear: x / act_scale rounded to e4m3 values (saturated, round to nearest even) times a
 * power-of-two `factor` (exact), into a buffer the calling thread keeps between calls. The AVX2 rounding
 * (e4m3_avx2.h) gives the scalar encoder's values; the scalar loop, ~4 ns per element, was a few % of a batched FP8
 * decode step. Without AVX2 the scalar encoder does it all: the portable twin. */
#include <stdlib.h>

#include "internal.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include "e4m3_avx2.h"

/* out[i] = e4m3 value of x[i] / act_scale, × factor, for count (a multiple of 8) floats. */
__attribute__((target("avx2"))) static void quantize_avx2(float *out, const float *x, size_t count, float act_scale,
                                                          float factor) {
  const __m256 scale = _mm256_set1_ps(act_scale), times = _mm256_set1_ps(factor);
#pragma omp parallel for schedule(static) if (count > 65536)
  for (size_t i = 0; i < count; i += 8)
    _mm256_storeu_ps(out + i, _mm256_mul_ps(gust_e4m3_round8(_mm256_div_ps(_mm256_loadu_ps(x + i), scale)), times));
}
#endif

const float *gust_quantize_activations(const float *x, size_t count, float act_scale, float factor) {
  static _Thread_local float *buffer = NULL;
  static _Thread_local size_t capacity = 0;
  if (capacity < count) {
    free(buffer);
    buffer = (float *)malloc(sizeof(float) * count);
    capacity = buffer ? count : 0;
    if (!buffer) return NULL;
  }
  float *out = buffer;
  size_t vector_end = 0;
#if defined(__x86_64__)
  if (gust_has_avx2) {
    vector_end = count / 8 * 8;
    quantize_avx2(out, x, vector_end, act_scale, factor);
  }
#endif
  for (size_t i = vector_end; i < count; i++) out[i] = gust_e4m3_table[gust_f32_to_e4m3(x[i] / act_scale)] * factor;
  return out;
}
