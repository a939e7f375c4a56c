/* FP8 E4M3 (float8_e4m3fn) encoding on the device: a line-by-line port of gust_f32_to_e4m3 in
 * kernels/cpu/fp8.c, so both backends produce the same code for every float. The hardware conversion
 * (cvt.rn.satfinite.e4m3x2.f32) is not used because the ABI pins NaN to sign|0x7F and this port is the
 * one the exhaustive CPU tests already cover. */
#ifndef GUST_CUDA_FP8_CUH
#define GUST_CUDA_FP8_CUH

#include <stdint.h>

__device__ inline uint8_t gust_f32_to_e4m3(float x) {
  uint32_t bits = __float_as_uint(x);
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

/* Activation quantisation for an FP8 linear: e4m3(x / act_scale) by a true IEEE division (__fdiv_rn),
 * exactly as the CPU backend and transformers do; a multiply by 1/act_scale differs in the last bit. */
__device__ inline uint8_t gust_quantize_act(float x, float act_scale) { return gust_f32_to_e4m3(__fdiv_rn(x, act_scale)); }

#endif
