/* FP8 E4M3 (float8_e4m3fn) encoding shared by the CPU and CUDA backends: one definition, compiled for
 * each, so both produce the same code for every float (the CPU tests check all 256 codes and every
 * rounding midpoint). Round to nearest even, saturating at ±448 (clamp-then-cast); NaN keeps its sign
 * and becomes 0x7F. Not part of the ABI. */
#ifndef GUST_E4M3_H
#define GUST_E4M3_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#ifdef __CUDACC__
#define GUST_HOST_DEVICE __host__ __device__
#else
#define GUST_HOST_DEVICE
#endif

static inline GUST_HOST_DEVICE uint8_t gust_e4m3_encode(float x) {
  uint32_t bits;
  memcpy(&bits, &x, 4);
  uint8_t sign = (uint8_t)((bits >> 24) & 0x80);
  if (isnan(x)) return (uint8_t)(sign | 0x7F);
  float a = fabsf(x);
  if (a >= 448.0f) return (uint8_t)(sign | 0x7E);
  if (a < 0.015625f) {
    /* subnormal range: quantum 2^-9; m == 8 rounds up into the smallest normal, code 0x08 */
    int m = (int)rintf(a * 512.0f);
    return (uint8_t)(sign | m);
  }
  /* normal: keep 3 of the 23 mantissa bits, round the dropped 20 to nearest even */
  uint32_t mag = bits & 0x7FFFFFFFu;
  mag += 0x7FFFFu + ((mag >> 20) & 1u);
  int e = (int)(mag >> 23) - 127 + 7;
  int m = (int)((mag >> 20) & 7u);
  if (e > 15 || (e == 15 && m == 7)) return (uint8_t)(sign | 0x7E);
  return (uint8_t)(sign | (e << 3) | m);
}

#endif
