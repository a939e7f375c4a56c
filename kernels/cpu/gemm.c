/* Register-blocked GEMM for many tokens on AVX2 + FMA: y[T, N] = x[T, K] · W[N, K]ᵀ (the fast path of
 * gust_linear from GEMM_MIN_TOKENS rows; linear.c holds the portable twin that specifies it).
 *
 * x is packed once per call, transposed and zero-padded to a multiple of 16 tokens: xt[tile][k][16] (FP8: the
 * activation quantised to e4m3 values on the way in, so quantisation is parallel and allocates nothing per
 * call). Each task owns PANELS × 6 weight rows; per block of KC inputs it converts those rows to f32 once
 * (wp[row][k], bf16/f16/e4m3 → f32) and then runs every 16-token tile against them: the micro-kernel keeps
 * 16 tokens × 6 rows in 12 accumulators (per input k: 2 loads of xt, 6 broadcasts of W, 12 FMAs).
 * Partial sums live in the thread's c[tile][row][16] between K blocks; the last block scales and writes y.
 * Example: gust-mini's up projection, T 2,048, N 768, K 256: 16 tasks of 48 rows, one K block, 128 token
 * tiles per panel; each weight is converted once per call instead of once per 4 tokens. */
#include <stdlib.h>

#include "internal.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include "e4m3_avx2.h"

#define AVX2 __attribute__((target("avx2,fma,f16c")))
#define ROWS 6    /* weight rows per micro-kernel */
#define PANELS 8  /* micro-kernel row groups per task: 48 rows */
#define KC 256    /* inputs per K block: a panel is 6 KiB, a 16-token slice of xt 16 KiB */
#define TILE 16   /* tokens per micro-kernel */

/* Grows a buffer kept for this thread's later calls: no allocation per call once warm. */
static float *scratch(float **buffer, size_t *capacity, size_t floats) {
  if (*capacity >= floats) return *buffer;
  free(*buffer);
  *buffer = (float *)aligned_alloc(64, ((floats * sizeof(float)) + 63) & ~(size_t)63);
  *capacity = *buffer ? floats : 0;
  return *buffer;
}

/* Eight weights of row `w + i` as f32 (e4m3: value · 2^-8, see linear.c for the f16-bits trick). */
AVX2 static inline __m256 load8(const uint8_t *w, int32_t dtype, int64_t i) {
  switch (dtype) {
    case GUST_DTYPE_F32: return _mm256_loadu_ps((const float *)w + i);
    case GUST_DTYPE_F16: return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)w + i)));
    case GUST_DTYPE_BF16: {
      __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)((const uint16_t *)w + i)));
      return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
    }
    default: {
      __m128i x = _mm_slli_epi16(_mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)(w + i))), 7);
      return _mm256_cvtph_ps(_mm_add_epi16(x, _mm_and_si128(x, _mm_set1_epi16(0x4000))));
    }
  }
}

/* wp[r][0..kc) = f32 weights of rows n0 + r, inputs k0 ..; rows past N are zero. */
AVX2 static void pack_weights(float *wp, const uint8_t *w, int32_t dtype, int32_t n0, int32_t N, int32_t K,
                              int32_t k0, int32_t kc) {
  float tail_scale = dtype == GUST_DTYPE_F8_E4M3 ? 0.00390625f : 1.0f;
  for (int32_t r = 0; r < ROWS; r++) {
    float *dst = wp + (size_t)r * KC;
    if (n0 + r >= N) {
      memset(dst, 0, sizeof(float) * (size_t)kc);
      continue;
    }
    int64_t base = (int64_t)(n0 + r) * K + k0;
    int32_t k = 0;
    if (dtype == GUST_DTYPE_F8_E4M3)
      for (; k + 8 <= kc; k += 8) _mm256_storeu_ps(dst + k, load8(w, GUST_DTYPE_F8_E4M3, base + k));
    else if (dtype == GUST_DTYPE_BF16)
      for (; k + 8 <= kc; k += 8) _mm256_storeu_ps(dst + k, load8(w, GUST_DTYPE_BF16, base + k));
    else
      for (; k + 8 <= kc; k += 8) _mm256_storeu_ps(dst + k, load8(w, dtype, base + k));
    for (; k < kc; k++) dst[k] = gust_load_weight(w, dtype, base + k) * tail_scale;
  }
}

/* c[r][t0 .. t0 + 16) (+)= Σ_k wp[r][k] · xt[k][t0 ..] for the 6 rows of one panel. */
AVX2 static void micro_kernel(const float *xt, size_t stride, const float *wp, int32_t kc, float *c, size_t c_stride,
                              int accumulate) {
  __m256 a0 = _mm256_setzero_ps(), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0, a3 = a0, b3 = a0, a4 = a0, b4 = a0,
         a5 = a0, b5 = a0;
  for (int32_t k = 0; k < kc; k++) {
    __m256 x0 = _mm256_load_ps(xt + (size_t)k * stride), x1 = _mm256_load_ps(xt + (size_t)k * stride + 8);
    __m256 w = _mm256_broadcast_ss(wp + k);
    a0 = _mm256_fmadd_ps(w, x0, a0), b0 = _mm256_fmadd_ps(w, x1, b0);
    w = _mm256_broadcast_ss(wp + KC + k);
    a1 = _mm256_fmadd_ps(w, x0, a1), b1 = _mm256_fmadd_ps(w, x1, b1);
    w = _mm256_broadcast_ss(wp + 2 * KC + k);
    a2 = _mm256_fmadd_ps(w, x0, a2), b2 = _mm256_fmadd_ps(w, x1, b2);
    w = _mm256_broadcast_ss(wp + 3 * KC + k);
    a3 = _mm256_fmadd_ps(w, x0, a3), b3 = _mm256_fmadd_ps(w, x1, b3);
    w = _mm256_broadcast_ss(wp + 4 * KC + k);
    a4 = _mm256_fmadd_ps(w, x0, a4), b4 = _mm256_fmadd_ps(w, x1, b4);
    w = _mm256_broadcast_ss(wp + 5 * KC + k);
    a5 = _mm256_fmadd_ps(w, x0, a5), b5 = _mm256_fmadd_ps(w, x1, b5);
  }
  __m256 acc[ROWS][2] = {{a0, b0}, {a1, b1}, {a2, b2}, {a3, b3}, {a4, b4}, {a5, b5}};
  for (int r = 0; r < ROWS; r++) {
    float *cr = c + (size_t)r * c_stride;
    if (accumulate) {
      acc[r][0] = _mm256_add_ps(acc[r][0], _mm256_load_ps(cr));
      acc[r][1] = _mm256_add_ps(acc[r][1], _mm256_load_ps(cr + 8));
    }
    _mm256_store_ps(cr, acc[r][0]);
    _mm256_store_ps(cr + 8, acc[r][1]);
  }
}

/* xt[tile][k][i] = x[tile · 16 + i][k] (FP8: the e4m3 value of x / act_scale), tokens T .. padded − 1 zero.
 * Tile-major, so a micro-kernel reads its 16-token slice as one contiguous run (K · 64 bytes) instead of K lines
 * a row of xt apart, which alias to a few cache sets when that row is a multiple of 4 KiB.
 * Example: T 40, K 3 → 3 tiles; x[17][2] lands at xt[1][2][1] = xt[1 · 48 + 2 · 16 + 1]. */
AVX2 static void pack_tokens(float *xt, const float *x, int32_t T, int32_t padded, int32_t K, int quantize,
                             float act_scale) {
#pragma omp parallel for schedule(static) if ((int64_t)T * K > 65536)
  for (int32_t tile = 0; tile < padded / TILE; tile++) {
    float *dst = xt + (size_t)tile * K * TILE;
    for (int32_t i = 0; i < TILE; i++) {
      int32_t t = tile * TILE + i;
      if (t >= T) {
        for (int32_t k = 0; k < K; k++) dst[(size_t)k * TILE + i] = 0.0f;
        continue;
      }
      const float *row = x + (size_t)t * K;
      int32_t k = 0;
      for (; k + 8 <= K; k += 8) {
        __m256 v = _mm256_loadu_ps(row + k);
        if (quantize) v = gust_e4m3_round8(_mm256_div_ps(v, _mm256_set1_ps(act_scale)));
        float lanes[8];
        _mm256_storeu_ps(lanes, v);
        for (int j = 0; j < 8; j++) dst[(size_t)(k + j) * TILE + i] = lanes[j];
      }
      for (; k < K; k++)
        dst[(size_t)k * TILE + i] = quantize ? gust_e4m3_table[gust_f32_to_e4m3(row[k] / act_scale)] : row[k];
    }
  }
}

static _Thread_local float *packed_tokens = NULL, *tiles = NULL;
static _Thread_local size_t packed_capacity = 0, tiles_capacity = 0;

AVX2 int32_t gust_gemm_avx2(float *y, const float *x, const uint8_t *w, int32_t dtype, int32_t T, int32_t N,
                            int32_t K, float act_scale, float m0, float m1, float m2) {
  int32_t padded = (T + TILE - 1) / TILE * TILE;
  float *xt = scratch(&packed_tokens, &packed_capacity, (size_t)padded * K);
  if (!xt) return gust_fail(GUST_ERR_OUT_OF_MEMORY, "gust_linear: no memory to pack %d tokens", T);
  pack_tokens(xt, x, T, padded, K, dtype == GUST_DTYPE_F8_E4M3, act_scale);
  int32_t task_rows = ROWS * PANELS, num_tasks = (N + task_rows - 1) / task_rows;
  size_t c_floats = (size_t)task_rows * padded, wp_floats = (size_t)PANELS * ROWS * KC;
  int failed = 0;
#pragma omp parallel if ((int64_t)N * K * T > 65536)
  {
    float *c = scratch(&tiles, &tiles_capacity, c_floats + wp_floats); /* kept by each OpenMP thread */
    if (!c) {
#pragma omp atomic write
      failed = 1;
    }
    float *wp = c + c_floats;
#pragma omp for schedule(dynamic, 1)
    for (int32_t task = 0; task < num_tasks; task++) {
      if (!c) continue;
      int32_t n_begin = task * task_rows, panels = (N - n_begin + ROWS - 1) / ROWS;
      panels = panels > PANELS ? PANELS : panels;
      for (int32_t k0 = 0; k0 < K; k0 += KC) {
        int32_t kc = K - k0 < KC ? K - k0 : KC;
        for (int32_t p = 0; p < panels; p++)
          pack_weights(wp + (size_t)p * ROWS * KC, w, dtype, n_begin + p * ROWS, N, K, k0, kc);
        for (int32_t t0 = 0; t0 < padded; t0 += TILE)
          for (int32_t p = 0; p < panels; p++)
            micro_kernel(xt + (size_t)t0 * K + (size_t)k0 * TILE, TILE, wp + (size_t)p * ROWS * KC, kc,
                         c + (size_t)t0 * task_rows + (size_t)p * ROWS * TILE, TILE, k0 > 0);
      }
      /* c is tile-major too: c[tile][row][i] for token tile · 16 + i, row n − n_begin */
      int32_t n_end = n_begin + task_rows < N ? n_begin + task_rows : N;
      for (int32_t t = 0; t < T; t++) {
        const float *ct = c + (size_t)(t / TILE) * TILE * task_rows + t % TILE;
        for (int32_t n = n_begin; n < n_end; n++)
          y[(size_t)t * N + n] = ((ct[(size_t)(n - n_begin) * TILE] * m0) * m1) * m2;
      }
    }
  }
  if (failed) return gust_fail(GUST_ERR_OUT_OF_MEMORY, "gust_linear: no memory for the GEMM tiles");
  return GUST_OK;
}
#endif
