/* FP8 E4M3 (float8_e4m3fn) helpers shared by the CPU and CUDA backends: one definition, compiled for
 * each. The encoder produces the same code for every float on both (the CPU tests check all 256 codes and
 * every rounding midpoint): round to nearest even, saturating at ±448 (clamp-then-cast); NaN keeps its
 * sign and becomes 0x7F. The integer e4m3 → f16 conversion below is what GPUs without the FP8 convert
 * instruction (sm_80) run; the host compiles the same lines so a CPU test can check every code.
 * Not part of the ABI. */
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

/* CUDA's __byte_perm(x, y, s): byte n of the result is byte ((s >> 4n) & 7) of the 8-byte value y:x
 * (x holds bytes 0..3). Example: s = 0x1404 gives [0, x0, 0, x1] from low to high (selector 4 = y0 = 0
 * when y is 0). The host twin follows the documented rule so tests can run it. */
static inline GUST_HOST_DEVICE uint32_t gust_byte_perm(uint32_t x, uint32_t y, uint32_t s) {
#ifdef __CUDA_ARCH__
  return __byte_perm(x, y, s);
#else
  const uint64_t both = ((uint64_t)y << 32) | x;
  uint32_t r = 0;
  for (int n = 0; n < 4; n++) r |= (uint32_t)((both >> (8 * ((s >> (4 * n)) & 7u))) & 0xFFu) << (8 * n);
  return r;
#endif
}

/* Two e4m3 codes (bits 0..7 and 8..15) → two f16 (low half, high half) holding value × 2^-8, exactly,
 * for every non-NaN code. e4m3 is s.eeee.mmm with bias 7; placing its 7 magnitude bits at f16 bits 13..7
 * reads them as exponent e with bias 15 and mantissa m·2^7: 2^(e-15)·(1 + m/8) = value · 2^-8, and the
 * subnormals (e = 0) line up the same way: 2^-14·(m/8) = 2^-6·(m/8) · 2^-8. The sign moves to bit 15.
 * Example: 0x7E (448) → byte 1 of w = 0x7E → f16 0x3F00 = 1.75 = 448 · 2^-8. NaN codes (0x7F, 0xFF)
 * become ±1.875 (480 · 2^-8), not NaN; the activation quantizer never emits them for finite inputs. */
static inline GUST_HOST_DEVICE uint32_t gust_e4m3x2_to_f16x2_scaled(uint32_t two_codes) {
  const uint32_t w = gust_byte_perm(two_codes, 0u, 0x1404u); /* code 0 → byte 1, code 1 → byte 3 */
  return (w & 0x80008000u) | ((w >> 1) & 0x3F803F80u);
}

#endif
