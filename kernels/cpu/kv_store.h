/* KV cache element storage (gust.h, "KV cache storage"): f32 as is, bf16 rounded to nearest even, FP8 E4M3
 * of x / scale. The write and every read of one cache go through these, so the CPU backend has one
 * definition of each format. Not part of the ABI. */
#ifndef GUST_CPU_KV_STORE_H
#define GUST_CPU_KV_STORE_H

#include "../bf16.h"
#include "internal.h"

static inline int gust_is_kv_dtype(int32_t dtype) {
  return dtype == GUST_DTYPE_F32 || dtype == GUST_DTYPE_BF16 || dtype == GUST_DTYPE_F8_E4M3;
}

/* Checks kv_dtype and, for FP8, both scales; op names the entry point in the message. */
static inline int32_t gust_check_kv_format(const char *op, int32_t dtype, float k_scale, float v_scale) {
  GUST_REQUIRE(gust_is_kv_dtype(dtype), "%s: kv_dtype %d is not f32 (0), bf16 (2) or f8_e4m3 (3)", op, dtype);
  if (dtype == GUST_DTYPE_F8_E4M3)
    GUST_REQUIRE(k_scale > 0.0f && isfinite(k_scale) && v_scale > 0.0f && isfinite(v_scale),
                 "%s: FP8 KV scales must be positive finite numbers, got k %g v %g", op, (double)k_scale,
                 (double)v_scale);
  return GUST_OK;
}

/* cache[offset .. offset + n) = src[0 .. n) in dtype. */
static inline void gust_kv_store(void *cache, int32_t dtype, size_t offset, const float *src, int32_t n,
                                 float scale) {
  if (dtype == GUST_DTYPE_F32) {
    memcpy((float *)cache + offset, src, (size_t)n * sizeof(float));
  } else if (dtype == GUST_DTYPE_BF16) {
    uint16_t *dst = (uint16_t *)cache + offset;
    for (int32_t i = 0; i < n; i++) dst[i] = gust_bf16_encode(src[i]);
  } else {
    uint8_t *dst = (uint8_t *)cache + offset;
    for (int32_t i = 0; i < n; i++) dst[i] = gust_f32_to_e4m3(src[i] / scale);
  }
}

/* The f32 values of cache[offset .. offset + n): a pointer into the cache itself for f32, else dst filled. */
static inline const float *gust_kv_load(float *dst, const void *cache, int32_t dtype, size_t offset, int32_t n,
                                        float scale) {
  if (dtype == GUST_DTYPE_F32) return (const float *)cache + offset;
  if (dtype == GUST_DTYPE_BF16) {
    const uint16_t *src = (const uint16_t *)cache + offset;
    for (int32_t i = 0; i < n; i++) dst[i] = gust_bf16_to_f32(src[i]);
  } else {
    const uint8_t *src = (const uint8_t *)cache + offset;
    for (int32_t i = 0; i < n; i++) dst[i] = gust_e4m3_table[src[i]] * scale;
  }
  return dst;
}

#endif
