/* Helpers shared by the CPU backend's translation units; not part of the ABI. */
#ifndef GUST_CPU_INTERNAL_H
#define GUST_CPU_INTERNAL_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "../gust.h"

/* Records a printf-style message as the thread's last error and returns status. */
int32_t gust_fail(int32_t status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define GUST_REQUIRE(cond, ...)                                  \
  do {                                                           \
    if (!(cond)) return gust_fail(GUST_ERR_INVALID_ARGUMENT, __VA_ARGS__); \
  } while (0)

/* 1 when the AVX2 + FMA + F16C kernels may run on this processor (decided once in gust_init). */
extern int gust_has_avx2;
/* 1 when the AVX-512 (F + BW) FP8 decode kernel may run (implies gust_has_avx2). */
extern int gust_has_avx512;

static inline float gust_bf16_to_f32(uint16_t h) {
  uint32_t bits = (uint32_t)h << 16;
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

/* IEEE half to float, exact for every code (subnormals included). */
static inline float gust_f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1F, mant = h & 0x3FF, bits;
  if (exp == 0) {
    float f = ldexpf((float)mant, -24);
    return sign ? -f : f;
  }
  if (exp == 31) bits = sign | 0x7F800000u | (mant << 13);
  else bits = sign | ((exp + 112) << 23) | (mant << 13);
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

/* The flash-style AVX2 attention (attention_tiled.c): whether it serves these shapes on this processor, and the
 * kernel itself, called by gust_attention after it validated the batch. */
int gust_attention_tiled_fits(int32_t num_heads, int32_t num_kv_heads, int32_t head_dim);
int32_t gust_attention_tiled(float *out, const float *q, const void *k_cache, const void *v_cache, int32_t kv_dtype,
                             float k_scale, float v_scale, const int32_t *query_starts, const int32_t *context_lens,
                             const int32_t *block_tables, int32_t num_seqs, int32_t num_heads, int32_t num_kv_heads,
                             int32_t head_dim, int32_t block_size, int32_t max_blocks_per_seq, float scale);

/* The register-blocked AVX2 GEMM (gemm.c) for many tokens; FP8 weights quantise x by act_scale while packing.
 * y = ((acc · m0) · m1) · m2 as in linear.c. */
int32_t gust_gemm_avx2(float *y, const float *x, const uint8_t *w, int32_t dtype, int32_t T, int32_t N, int32_t K,
                       float act_scale, float m0, float m1, float m2);

/* Per-thread scratch of at least `bytes`, kept across calls (sample.c); NULL when out of memory. */
void *gust_thread_scratch(size_t bytes);

/* The sampler's AVX2 twins (sample_simd.c), used by sample_core.h in place of its scalar loops (same bits); they
 * fall back to the scalar ones when AVX2 is off. Include internal.h before sample_core.h. */
int32_t gust_row_argmax_cpu(const float *row, int32_t n);
double gust_fill_weights_cpu(const float *row, int32_t V, double max, double T, double *w);
#define GUST_ROW_ARGMAX gust_row_argmax_cpu
#define GUST_FILL_WEIGHTS gust_fill_weights_cpu

extern float gust_e4m3_table[256]; /* value of each float8_e4m3fn code, filled by gust_fp8_init */
void gust_fp8_init(void);
uint8_t gust_f32_to_e4m3(float x); /* saturating, round to nearest even */
/* FP8 activations as e4m3 values × factor in a buffer this thread keeps (fp8_activations.c); NULL without memory. */
const float *gust_quantize_activations(const float *x, size_t count, float act_scale, float factor);

/* Reads element i of a weight vector stored in dtype (f32/f16/bf16/e4m3), unaligned-safe. */
static inline float gust_load_weight(const void *w, int32_t dtype, int64_t i) {
  const uint8_t *b = (const uint8_t *)w;
  switch (dtype) {
    case GUST_DTYPE_F32: { float f; memcpy(&f, b + 4 * i, 4); return f; }
    case GUST_DTYPE_F16: { uint16_t h; memcpy(&h, b + 2 * i, 2); return gust_f16_to_f32(h); }
    case GUST_DTYPE_BF16: { uint16_t h; memcpy(&h, b + 2 * i, 2); return gust_bf16_to_f32(h); }
    case GUST_DTYPE_F8_E4M3: return gust_e4m3_table[b[i]];
    default: return NAN;
  }
}

static inline int gust_is_float_dtype(int32_t dtype) {
  return dtype == GUST_DTYPE_F32 || dtype == GUST_DTYPE_F16 || dtype == GUST_DTYPE_BF16;
}

#endif
