/* Linear layers y[T, N] = x[T, K] · W[N, K]ᵀ for f32/f16/bf16/FP8-E4M3 weights.
 *
 * Decode (T = 1) is a GEMV bound by reading W once, so the fast path converts each weight to f32 in
 * registers and never materialises a converted copy. Prefill reuses every converted weight vector for
 * up to 4 token rows. Work is split over output rows: tasks of ROWS_PER_TASK rows run all token tiles,
 * so a task's slice of W stays in cache while the token tiles stream past it.
 *
 * FP8: the row dots expand e4m3 to f32 with integer ops (e4m3_avx2.h: no F16C, whose 2 µops each bound the loop),
 * activations quantised × 2^112. The AVX-512 GEMV uses the f16-bits trick: e4m3 bits b = s eeee mmm become the f16
 * bits s 0eeee mmm0000000 (exponent bias 15 vs 7), exactly value(b) · 2^-8 (subnormals included); F16C converts
 * them and the 2^8 is folded into the output scale, exact for a power of two. */
#include <stdlib.h>

#include "internal.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include "e4m3_avx2.h"
#endif

#define ROWS_PER_TASK 16
/* Below this the row dots (4 tokens per pass) beat the GEMM, whose 16-token tile runs half empty at 8 tokens: per
 * 7,168 × 2,048 FP8 matrix at 1 thread, 8 tokens 7.4–7.9 ms in the GEMM vs ~5.4 ms as two 4-token passes; at 12
 * tokens ~8 ms either way (docs/notes/2026-12-06-issue-32.md, session 20). */
#define GEMM_MIN_TOKENS 12

/* ---- portable twin: the specification of the fast path ---------------------------------------- */
static void linear_portable(float *y, const float *x, const void *w, int32_t dtype, int32_t T, int32_t N, int32_t K,
                            float m0, float m1, float m2) {
#pragma omp parallel if ((int64_t)N * K * T > 65536)
  {
    float *row = (float *)malloc(sizeof(float) * (size_t)K);
#pragma omp for schedule(static)
    for (int32_t n = 0; n < N; n++) {
      for (int32_t k = 0; k < K; k++) row[k] = gust_load_weight(w, dtype, (int64_t)n * K + k);
      for (int32_t t = 0; t < T; t++) {
        const float *xr = x + (size_t)t * K;
        float acc = 0.0f;
        for (int32_t k = 0; k < K; k++) acc += xr[k] * row[k];
        y[(size_t)t * N + n] = ((acc * m0) * m1) * m2;
      }
    }
    free(row);
  }
}

#if defined(__x86_64__)
#define AVX2 __attribute__((target("avx2,fma,f16c")))

AVX2 static inline __m256 load8_f32(const uint8_t *w, int64_t i) { return _mm256_loadu_ps((const float *)w + i); }
AVX2 static inline __m256 load8_f16(const uint8_t *w, int64_t i) {
  return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)w + i)));
}
AVX2 static inline __m256 load8_bf16(const uint8_t *w, int64_t i) {
  __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)((const uint16_t *)w + i)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
}
AVX2 static inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

/* Adds one row's products past the vector body (inputs k_from .. K) to out[0 .. TB), as (x · x_tail) · (value ·
 * w_tail): the vector body's products (FP8 arrives expanded × 2^-120 against x × 2^112, see e4m3_avx2.h). */
static inline void dot_tail(const uint8_t *w, int32_t dtype, int64_t row_offset, const float *x, int32_t K,
                            int32_t k_from, int TB, float *out) {
  int fp8 = dtype == GUST_DTYPE_F8_E4M3;
  float w_tail = fp8 ? 0x1p-8f : 1.0f, x_tail = fp8 ? 0x1p-112f : 1.0f;
  for (int32_t k = k_from; k < K; k++) {
    float wk = gust_load_weight(w, dtype, row_offset + k) * w_tail;
    for (int t = 0; t < TB; t++) out[t] += (x[(size_t)t * K + k] * x_tail) * wk;
  }
}

/* One weight row against TB (1, 2 or 4) token rows; two accumulators per token hide FMA latency. A lone row
 * (decode) is bound by reading W: four chains and a software prefetch PREFETCH_BYTES ahead, which the hardware
 * prefetcher alone did not reach (~15 % faster per matrix at 1 thread). */
#define PREFETCH_BYTES 2048
#define DEFINE_ROW_DOT(SUFFIX, LOAD8, BYTES)                                                                  \
  AVX2 static inline __attribute__((always_inline)) void row_dot_##SUFFIX(                                  \
      const uint8_t *w, int32_t dtype, int64_t row_offset, const float *x, int32_t K, int TB, float *out) {   \
    __m256 acc_a[4], acc_b[4];                                                                                \
    for (int t = 0; t < TB; t++) acc_a[t] = acc_b[t] = _mm256_setzero_ps();                                   \
    int32_t k = 0;                                                                                            \
    if (TB == 1) {                                                                                            \
      __m256 c0 = _mm256_setzero_ps(), c1 = c0;                                                               \
      for (; k + 32 <= K; k += 32) {                                                                          \
        _mm_prefetch((const char *)w + (row_offset + k) * (BYTES) + PREFETCH_BYTES, _MM_HINT_T0);             \
        acc_a[0] = _mm256_fmadd_ps(LOAD8(w, row_offset + k), _mm256_loadu_ps(x + k), acc_a[0]);              \
        acc_b[0] = _mm256_fmadd_ps(LOAD8(w, row_offset + k + 8), _mm256_loadu_ps(x + k + 8), acc_b[0]);      \
        c0 = _mm256_fmadd_ps(LOAD8(w, row_offset + k + 16), _mm256_loadu_ps(x + k + 16), c0);                \
        c1 = _mm256_fmadd_ps(LOAD8(w, row_offset + k + 24), _mm256_loadu_ps(x + k + 24), c1);                \
      }                                                                                                       \
      acc_a[0] = _mm256_add_ps(acc_a[0], c0);                                                                 \
      acc_b[0] = _mm256_add_ps(acc_b[0], c1);                                                                 \
    }                                                                                                         \
    for (; k + 16 <= K; k += 16) {                                                                            \
      __m256 w0 = LOAD8(w, row_offset + k), w1 = LOAD8(w, row_offset + k + 8);                               \
      for (int t = 0; t < TB; t++) {                                                                          \
        acc_a[t] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + (size_t)t * K + k), acc_a[t]);                    \
        acc_b[t] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x + (size_t)t * K + k + 8), acc_b[t]);                \
      }                                                                                                       \
    }                                                                                                         \
    for (; k + 8 <= K; k += 8) {                                                                              \
      __m256 w0 = LOAD8(w, row_offset + k);                                                                   \
      for (int t = 0; t < TB; t++)                                                                            \
        acc_a[t] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + (size_t)t * K + k), acc_a[t]);                    \
    }                                                                                                         \
    for (int t = 0; t < TB; t++) out[t] = hsum8(_mm256_add_ps(acc_a[t], acc_b[t]));                           \
    dot_tail(w, dtype, row_offset, x, K, k, TB, out);                                                         \
  }

DEFINE_ROW_DOT(f32, load8_f32, 4)
DEFINE_ROW_DOT(f16, load8_f16, 2)
DEFINE_ROW_DOT(bf16, load8_bf16, 2)
DEFINE_ROW_DOT(e4m3, gust_load8_e4m3_bits, 1) /* x arrives × 2^112 */

/* R weight rows × TB tokens (R · TB = 8 FMA chains, enough to hide their latency) over inputs [k0, k1), a multiple
 * of 8 apart, continuing the vector partial sums acc[r · TB + t][8]. A 4-token row dot is bound by re-reading x, not
 * W: x of 4 × 7,168 inputs (the down projection) is 112 KiB, so one row at a time streams it from L2 for every row.
 * Here each x vector feeds R rows, and the caller walks K in blocks whose x slice stays in L1. That access pattern
 * (R rows' 1 KiB pieces, K bytes apart) defeats the hardware prefetcher, so each line of the next tile's rows is
 * fetched one tile ahead (down projection ×4 at 1 thread: 39 → 55 GFLOP/s; notes 2026-12-06-issue-32.md). */
#define TILE_STEP(LOAD8, K_AT)                                                                                   \
  do {                                                                                                          \
    __m256 wv[8];                                                                                               \
    for (int r = 0; r < R; r++) wv[r] = LOAD8(w, row_offset + (int64_t)r * K + (K_AT));                        \
    for (int t = 0; t < TB; t++) {                                                                              \
      __m256 xv = _mm256_loadu_ps(x + (size_t)t * K + (K_AT));                                                  \
      __asm__("" : "+x"(xv)); /* one load for R FMAs: GCC would fold it into each of them */                   \
      for (int r = 0; r < R; r++) a[r * TB + t] = _mm256_fmadd_ps(wv[r], xv, a[r * TB + t]);                    \
    }                                                                                                           \
  } while (0)
#define DEFINE_TILE_DOT(SUFFIX, LOAD8, BYTES)                                                                    \
  AVX2 static inline __attribute__((always_inline)) void tile_dot_##SUFFIX(                                     \
      const uint8_t *w, int64_t row_offset, const float *x, int32_t K, int32_t k0, int32_t k1, int R, int TB,     \
      float *acc) {                                                                                             \
    __m256 a[8];                                                                                                \
    for (int i = 0; i < R * TB; i++) a[i] = _mm256_loadu_ps(acc + (size_t)i * 8);                              \
    int32_t k = k0;                                                                                             \
    for (; k + 64 / (BYTES) <= k1; k += 64 / (BYTES)) { /* a cache line of each row per pass */                \
      for (int r = 0; r < R; r++) /* the next tile's rows: R rows on */                                         \
        _mm_prefetch((const char *)w + (row_offset + (int64_t)(R + r) * K + k) * (BYTES), _MM_HINT_T0);         \
      _Pragma("GCC unroll 8") for (int32_t kk = 0; kk < 64 / (BYTES); kk += 8) TILE_STEP(LOAD8, k + kk);        \
    }                                                                                                           \
    for (; k < k1; k += 8) TILE_STEP(LOAD8, k);                                                                 \
    for (int i = 0; i < R * TB; i++) _mm256_storeu_ps(acc + (size_t)i * 8, a[i]);                              \
  }

/* A task owns ROWS_PER_TASK output rows. Two or four tokens (and one token of 16-bit weights: GEMV_TILES) run as
 * R × TB tiles over K blocks of KB_FLOATS / TB inputs (x slice 16 KiB), the task's partial sums kept in acc between
 * blocks; rows left over by R, and the scalar tail past the last multiple of 8, follow the row dot's rules.
 * Example: T 4, N 7,168, K 2,048: 448 tasks of 16 rows; per task 2 K blocks of 1,024 inputs, each passing 8 row
 * pairs over the same 16 KiB of x. */
#define KB_FLOATS 4096
#define DEFINE_LINEAR_AVX2(SUFFIX, GEMV_TILES)                                                                 \
  AVX2 static void tiles_##SUFFIX(float *y, const float *xt, const uint8_t *w, int32_t dtype, int32_t TB,       \
                                  int32_t t0, int32_t n_begin, int32_t n_end, int32_t N, int32_t K, float m0,   \
                                  float m1, float m2) {                                                         \
    float acc[ROWS_PER_TASK * 4 * 8];                                                                           \
    int R = 8 / TB;                                                                                             \
    int32_t n_tiled = n_begin + (n_end - n_begin) / R * R, k_vector = K / 8 * 8, kb = KB_FLOATS / TB;          \
    memset(acc, 0, sizeof(float) * (size_t)(n_end - n_begin) * TB * 8); /* the task's rows only */              \
    for (int32_t k0 = 0; k0 < k_vector; k0 += kb) {                                                             \
      int32_t k1 = k0 + kb < k_vector ? k0 + kb : k_vector;                                                     \
      for (int32_t n = n_begin; n < n_tiled; n += R) {                                                          \
        float *a = acc + (size_t)(n - n_begin) * TB * 8;                                                        \
        if (TB == 4) tile_dot_##SUFFIX(w, (int64_t)n * K, xt, K, k0, k1, 2, 4, a);                              \
        else if (TB == 2) tile_dot_##SUFFIX(w, (int64_t)n * K, xt, K, k0, k1, 4, 2, a);                         \
        else tile_dot_##SUFFIX(w, (int64_t)n * K, xt, K, k0, k1, 8, 1, a);                                      \
      }                                                                                                         \
    }                                                                                                           \
    for (int32_t n = n_begin; n < n_end; n++) {                                                                 \
      float out[4];                                                                                             \
      if (n >= n_tiled) {                                                                                       \
        row_dot_##SUFFIX(w, dtype, (int64_t)n * K, xt, K, TB, out);                                             \
      } else {                                                                                                  \
        const float *sums = acc + (size_t)(n - n_begin) * TB * 8;                                               \
        for (int t = 0; t < TB; t++) out[t] = hsum8(_mm256_loadu_ps(sums + (size_t)t * 8));                     \
        dot_tail(w, dtype, (int64_t)n * K, xt, K, k_vector, TB, out);                                           \
      }                                                                                                         \
      for (int t = 0; t < TB; t++) y[(size_t)(t0 + t) * N + n] = ((out[t] * m0) * m1) * m2;                     \
    }                                                                                                           \
  }                                                                                                             \
  AVX2 static void linear_avx2_##SUFFIX(float *y, const float *x, const uint8_t *w, int32_t dtype, int32_t T,  \
                                        int32_t N, int32_t K, float m0, float m1, float m2) {                  \
    int32_t num_tasks = (N + ROWS_PER_TASK - 1) / ROWS_PER_TASK;                                               \
    _Pragma("omp parallel for schedule(static) if ((int64_t)N * K * T > 65536)")                                \
    for (int32_t task = 0; task < num_tasks; task++) {                                                         \
      int32_t n_begin = task * ROWS_PER_TASK, n_end = n_begin + ROWS_PER_TASK < N ? n_begin + ROWS_PER_TASK : N; \
      for (int32_t t0 = 0; t0 < T;) {                                                                          \
        int TB = T - t0 >= 4 ? 4 : (T - t0 >= 2 ? 2 : 1);                                                      \
        const float *xt = x + (size_t)t0 * K;                                                                  \
        if (TB > 1 || (GEMV_TILES)) tiles_##SUFFIX(y, xt, w, dtype, TB, t0, n_begin, n_end, N, K, m0, m1, m2); \
        else                                                                                                   \
          for (int32_t n = n_begin; n < n_end; n++) {                                                          \
            float out[1];                                                                                      \
            row_dot_##SUFFIX(w, dtype, (int64_t)n * K, xt, K, 1, out);                                         \
            y[(size_t)t0 * N + n] = ((out[0] * m0) * m1) * m2;                                                 \
          }                                                                                                    \
        t0 += TB;                                                                                              \
      }                                                                                                        \
    }                                                                                                          \
  }

DEFINE_TILE_DOT(f32, load8_f32, 4)
DEFINE_TILE_DOT(f16, load8_f16, 2)
DEFINE_TILE_DOT(bf16, load8_bf16, 2)
DEFINE_TILE_DOT(e4m3, gust_load8_e4m3_bits, 1)

/* 16-bit weights read one token's row dots as 8-row tiles (eight streams, 16.3–17.0 GB/s against 14.6–15.0 one
 * row at a time, 1 thread, 117 MiB of bf16); FP8's one-row loop, which spends more work per byte, stays ahead. */
DEFINE_LINEAR_AVX2(f32, 0)
DEFINE_LINEAR_AVX2(f16, 1)
DEFINE_LINEAR_AVX2(bf16, 1)
DEFINE_LINEAR_AVX2(e4m3, 0)

/* FP8 decode (one token row) with AVX-512: 64 weights per iteration, the same e4m3 → f16-bits trick on
 * 32 lanes at once, four accumulators. Halves the instructions per weight byte of the AVX2 path, which
 * is compute-bound on two cores. */
#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,fma,f16c")))
AVX512 static inline __m512i e4m3_f16_bits32(const uint8_t *p) {
  __m512i x = _mm512_slli_epi16(_mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)p)), 7);
  return _mm512_add_epi16(x, _mm512_and_si512(x, _mm512_set1_epi16(0x4000)));
}

AVX512 static void gemv_e4m3_avx512(float *y, const float *x, const uint8_t *w, int32_t N, int32_t K, float m1, float m2) {
#pragma omp parallel for schedule(static) if ((int64_t)N * K > 65536)
  for (int32_t n = 0; n < N; n++) {
    const uint8_t *wr = w + (size_t)n * K;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int32_t k = 0;
    for (; k + 64 <= K; k += 64) {
      __m512i h0 = e4m3_f16_bits32(wr + k), h1 = e4m3_f16_bits32(wr + k + 32);
      a0 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm512_castsi512_si256(h0)), _mm512_loadu_ps(x + k), a0);
      a1 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm512_extracti64x4_epi64(h0, 1)), _mm512_loadu_ps(x + k + 16), a1);
      a2 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm512_castsi512_si256(h1)), _mm512_loadu_ps(x + k + 32), a2);
      a3 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm512_extracti64x4_epi64(h1, 1)), _mm512_loadu_ps(x + k + 48), a3);
    }
    float acc = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
    for (; k < K; k++) acc += x[k] * (gust_e4m3_table[wr[k]] * 0.00390625f);
    y[n] = ((acc * 256.0f) * m1) * m2;
  }
}
#endif

int32_t gust_linear(void *y_f32, const void *x_f32, const void *w, int32_t w_dtype, int32_t num_tokens, int32_t n_out,
                    int32_t k_in, float act_scale, float weight_scale) {
  GUST_REQUIRE(y_f32 && x_f32 && w, "gust_linear: NULL pointer");
  GUST_REQUIRE(num_tokens >= 0 && n_out > 0 && k_in > 0,
               "gust_linear: shapes must be positive (tokens %d, out %d, in %d)", num_tokens, n_out, k_in);
  GUST_REQUIRE(gust_is_float_dtype(w_dtype) || w_dtype == GUST_DTYPE_F8_E4M3,
               "gust_linear: weight dtype %d is not one of f32, f16, bf16, f8_e4m3", w_dtype);
  if (num_tokens == 0) return GUST_OK;
  const float *x = (const float *)x_f32;
  float *y = (float *)y_f32;
  float m0 = 1.0f, m1 = weight_scale, m2 = 1.0f;
  int fp8 = w_dtype == GUST_DTYPE_F8_E4M3;
  if (fp8) {
    GUST_REQUIRE(act_scale > 0.0f && isfinite(act_scale),
                 "gust_linear: FP8 weights need a positive static activation scale, got %g", (double)act_scale);
    m1 = act_scale;
    m2 = weight_scale;
  }
#if defined(__x86_64__)
  /* the integer e4m3 expansion makes f32 subnormals, which DAZ/FTZ would read as 0: the portable loop then */
  int e4m3_bits = gust_has_avx2 && !gust_denormals_flushed();
  /* many tokens: the GEMM quantises FP8 activations while packing them */
  if (gust_has_avx2 && num_tokens >= GEMM_MIN_TOKENS)
    return gust_gemm_avx2(y, x, (const uint8_t *)w, w_dtype, num_tokens, n_out, k_in, act_scale, fp8 ? 256.0f : 1.0f,
                          m1, m2);
  if (num_tokens == 1 && gust_has_avx512) e4m3_bits = 0; /* the AVX-512 GEMV takes plain e4m3 values */
#else
  int e4m3_bits = 0;
#endif
  if (fp8) {
    x = gust_quantize_activations(x, (size_t)num_tokens * k_in, act_scale, e4m3_bits ? GUST_E4M3_BITS_X_FACTOR : 1.0f);
    if (!x) return gust_fail(GUST_ERR_OUT_OF_MEMORY, "gust_linear: no memory to quantize activations");
  }
#if defined(__x86_64__)
  if (gust_has_avx2 && (!fp8 || e4m3_bits || (num_tokens == 1 && gust_has_avx512))) {
    const uint8_t *wb = (const uint8_t *)w;
    switch (w_dtype) {
      case GUST_DTYPE_F32: linear_avx2_f32(y, x, wb, w_dtype, num_tokens, n_out, k_in, m0, m1, m2); break;
      case GUST_DTYPE_F16: linear_avx2_f16(y, x, wb, w_dtype, num_tokens, n_out, k_in, m0, m1, m2); break;
      case GUST_DTYPE_BF16: linear_avx2_bf16(y, x, wb, w_dtype, num_tokens, n_out, k_in, m0, m1, m2); break;
      default:
        if (num_tokens == 1 && gust_has_avx512) gemv_e4m3_avx512(y, x, wb, n_out, k_in, m1, m2);
        else linear_avx2_e4m3(y, x, wb, w_dtype, num_tokens, n_out, k_in, 256.0f, m1, m2);
        break;
    }
    return GUST_OK;
  }
#endif
  linear_portable(y, x, w, w_dtype, num_tokens, n_out, k_in, m0, m1, m2);
  return GUST_OK;
}
