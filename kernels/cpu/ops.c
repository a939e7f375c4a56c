/* Row-wise and element-wise ops of the decoder: embedding, RMSNorm, RoPE, query scale, SwiGLU, add, argmax. */
#include <stdlib.h>

#include "internal.h"

#define PARALLEL_MIN_WORK 32768

int32_t gust_embed(void *out_f32, const void *table, int32_t table_dtype, const void *ids_i32, int32_t num_tokens,
                   int32_t vocab, int32_t dim) {
  GUST_REQUIRE(out_f32 && table && ids_i32, "gust_embed: NULL pointer");
  GUST_REQUIRE(gust_is_float_dtype(table_dtype), "gust_embed: table dtype %d is not f32, f16 or bf16", table_dtype);
  const int32_t *ids = (const int32_t *)ids_i32;
  for (int32_t t = 0; t < num_tokens; t++)
    GUST_REQUIRE(ids[t] >= 0 && ids[t] < vocab, "gust_embed: token id %d at row %d is outside the vocabulary [0, %d)",
                 ids[t], t, vocab);
  float *out = (float *)out_f32;
#pragma omp parallel for if ((int64_t)num_tokens * dim > PARALLEL_MIN_WORK)
  for (int32_t t = 0; t < num_tokens; t++)
    for (int32_t c = 0; c < dim; c++) out[(size_t)t * dim + c] = gust_load_weight(table, table_dtype, (int64_t)ids[t] * dim + c);
  return GUST_OK;
}

#if defined(__x86_64__)
#include <immintrin.h>
#define AVX2 __attribute__((target("avx2,fma,f16c")))

/* Single-precision RMSNorm: the sum of squares in 16 f32 lanes (two accumulators, pairwise at the end; a
 * 12288-wide row keeps ~1e-7 relative error), weights converted 8 at a time. The double loop below is its twin. */
AVX2 static void rmsnorm_avx2(float *y, const float *x, const void *weight, int32_t dtype, int32_t num_tokens,
                              int32_t dim, float eps) {
#pragma omp parallel for if ((int64_t)num_tokens * dim > PARALLEL_MIN_WORK)
  for (int32_t t = 0; t < num_tokens; t++) {
    const float *xr = x + (size_t)t * dim;
    float *yr = y + (size_t)t * dim;
    __m256 a = _mm256_setzero_ps(), b = a;
    int32_t c = 0;
    for (; c + 16 <= dim; c += 16) {
      __m256 u = _mm256_loadu_ps(xr + c), v = _mm256_loadu_ps(xr + c + 8);
      a = _mm256_fmadd_ps(u, u, a), b = _mm256_fmadd_ps(v, v, b);
    }
    float lanes[8], sum_sq = 0.0f;
    _mm256_storeu_ps(lanes, _mm256_add_ps(a, b));
    for (int i = 0; i < 8; i++) sum_sq += lanes[i];
    for (; c < dim; c++) sum_sq += xr[c] * xr[c];
    float inv = 1.0f / sqrtf(sum_sq / (float)dim + eps);
    __m256 scale = _mm256_set1_ps(inv);
    c = 0;
    for (; c + 8 <= dim; c += 8) {
      __m256 w;
      if (dtype == GUST_DTYPE_BF16)
        w = _mm256_castsi256_ps(_mm256_slli_epi32(
            _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)((const uint16_t *)weight + c))), 16));
      else if (dtype == GUST_DTYPE_F16) w = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)weight + c)));
      else w = _mm256_loadu_ps((const float *)weight + c);
      _mm256_storeu_ps(yr + c, _mm256_mul_ps(w, _mm256_mul_ps(_mm256_loadu_ps(xr + c), scale)));
    }
    for (; c < dim; c++) yr[c] = gust_load_weight(weight, dtype, c) * (xr[c] * inv);
  }
}
#endif

int32_t gust_rmsnorm(void *y_f32, const void *x_f32, const void *weight, int32_t weight_dtype, int32_t num_tokens,
                     int32_t dim, float eps) {
  GUST_REQUIRE(y_f32 && x_f32 && weight, "gust_rmsnorm: NULL pointer");
  GUST_REQUIRE(gust_is_float_dtype(weight_dtype), "gust_rmsnorm: weight dtype %d is not f32, f16 or bf16", weight_dtype);
  GUST_REQUIRE(dim > 0 && num_tokens >= 0, "gust_rmsnorm: bad shape (%d, %d)", num_tokens, dim);
  const float *x = (const float *)x_f32;
  float *y = (float *)y_f32;
#if defined(__x86_64__)
  if (gust_has_avx2) {
    rmsnorm_avx2(y, x, weight, weight_dtype, num_tokens, dim, eps);
    return GUST_OK;
  }
#endif
#pragma omp parallel for if ((int64_t)num_tokens * dim > PARALLEL_MIN_WORK)
  for (int32_t t = 0; t < num_tokens; t++) {
    const float *xr = x + (size_t)t * dim;
    double sum_sq = 0.0; /* double: a 12288-wide row of f32 squares loses bits otherwise */
    for (int32_t c = 0; c < dim; c++) sum_sq += (double)xr[c] * xr[c];
    double rms = sqrt(sum_sq / dim + (double)eps);
    for (int32_t c = 0; c < dim; c++)
      y[(size_t)t * dim + c] = gust_load_weight(weight, weight_dtype, c) * (float)(xr[c] / rms);
  }
  return GUST_OK;
}

int32_t gust_rope(void *x_f32, const void *positions_i32, const void *cos_f32, const void *sin_f32,
                  int32_t num_tokens, int32_t num_heads, int32_t head_dim, int32_t table_len) {
  GUST_REQUIRE(x_f32 && positions_i32 && cos_f32 && sin_f32, "gust_rope: NULL pointer");
  GUST_REQUIRE(head_dim > 0 && head_dim % 2 == 0, "gust_rope: head_dim %d must be even", head_dim);
  const int32_t *pos = (const int32_t *)positions_i32;
  for (int32_t t = 0; t < num_tokens; t++)
    GUST_REQUIRE(pos[t] >= 0 && pos[t] < table_len,
                 "gust_rope: position %d at row %d is outside the rotary table [0, %d)", pos[t], t, table_len);
  float *x = (float *)x_f32;
  const float *cos_t = (const float *)cos_f32, *sin_t = (const float *)sin_f32;
  int32_t half = head_dim / 2;
#pragma omp parallel for if ((int64_t)num_tokens * num_heads * head_dim > PARALLEL_MIN_WORK)
  for (int32_t t = 0; t < num_tokens; t++) {
    const float *c = cos_t + (size_t)pos[t] * half, *s = sin_t + (size_t)pos[t] * half;
    for (int32_t h = 0; h < num_heads; h++) {
      float *v = x + ((size_t)t * num_heads + h) * head_dim;
      for (int32_t i = 0; i < half; i++) {
        float a = v[i], b = v[i + half];
        v[i] = a * c[i] - b * s[i];
        v[i + half] = b * c[i] + a * s[i];
      }
    }
  }
  return GUST_OK;
}

int32_t gust_query_scale(void *q_f32, const void *positions_i32, int32_t num_tokens, int32_t width, float beta,
                         int32_t original_max) {
  GUST_REQUIRE(q_f32 && positions_i32, "gust_query_scale: NULL pointer");
  GUST_REQUIRE(original_max > 0, "gust_query_scale: original_max %d must be positive", original_max);
  if (beta == 0.0f) return GUST_OK;
  const int32_t *pos = (const int32_t *)positions_i32;
  float *q = (float *)q_f32;
  for (int32_t t = 0; t < num_tokens; t++) {
    GUST_REQUIRE(pos[t] >= 0, "gust_query_scale: negative position %d at row %d", pos[t], t);
    float scale = 1.0f + beta * logf(1.0f + (float)(pos[t] / original_max));
    for (int32_t i = 0; i < width; i++) q[(size_t)t * width + i] *= scale;
  }
  return GUST_OK;
}

int32_t gust_silu_mul(void *out_f32, const void *gate_f32, const void *up_f32, uint64_t n) {
  GUST_REQUIRE(out_f32 && gate_f32 && up_f32, "gust_silu_mul: NULL pointer");
  float *out = (float *)out_f32;
  const float *g = (const float *)gate_f32, *u = (const float *)up_f32;
#pragma omp parallel for if (n > PARALLEL_MIN_WORK)
  for (uint64_t i = 0; i < n; i++) out[i] = (g[i] / (1.0f + expf(-g[i]))) * u[i];
  return GUST_OK;
}

int32_t gust_add(void *out_f32, const void *a_f32, const void *b_f32, uint64_t n) {
  GUST_REQUIRE(out_f32 && a_f32 && b_f32, "gust_add: NULL pointer");
  float *out = (float *)out_f32;
  const float *a = (const float *)a_f32, *b = (const float *)b_f32;
#pragma omp parallel for schedule(static) if (n > PARALLEL_MIN_WORK)
  for (uint64_t i = 0; i < n; i++) out[i] = a[i] + b[i];
  return GUST_OK;
}

int32_t gust_argmax(void *out_i32, const void *x_f32, int32_t num_rows, int32_t row_len) {
  GUST_REQUIRE(out_i32 && x_f32, "gust_argmax: NULL pointer");
  GUST_REQUIRE(row_len > 0, "gust_argmax: row_len %d must be positive", row_len);
  int32_t *out = (int32_t *)out_i32;
  const float *x = (const float *)x_f32;
  for (int32_t r = 0; r < num_rows; r++) {
    const float *row = x + (size_t)r * row_len;
    int32_t best = 0;
    for (int32_t i = 1; i < row_len; i++)
      if (row[i] > row[best]) best = i;
    out[r] = best;
  }
  return GUST_OK;
}

int32_t gust_gather_rows(void *out_f32, const void *x_f32, const void *rows_i32, int32_t num_rows, int32_t row_len,
                         int32_t num_src_rows) {
  GUST_REQUIRE(out_f32 && x_f32 && rows_i32, "gust_gather_rows: NULL pointer");
  const int32_t *rows = (const int32_t *)rows_i32;
  for (int32_t r = 0; r < num_rows; r++)
    GUST_REQUIRE(rows[r] >= 0 && rows[r] < num_src_rows, "gust_gather_rows: row %d is outside [0, %d)", rows[r],
                 num_src_rows);
  float *out = (float *)out_f32;
  const float *x = (const float *)x_f32;
  for (int32_t r = 0; r < num_rows; r++)
    memcpy(out + (size_t)r * row_len, x + (size_t)rows[r] * row_len, sizeof(float) * (size_t)row_len);
  return GUST_OK;
}
