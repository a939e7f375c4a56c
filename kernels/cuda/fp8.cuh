/* FP8 E4M3 (float8_e4m3fn) encoding on the device: the same definition as the CPU's (kernels/e4m3.h),
 * so both backends produce the same code for every float. The hardware conversion
 * (cvt.rn.satfinite.e4m3x2.f32) is not used because the ABI pins NaN to sign|0x7F and this port is the
 * one the exhaustive CPU tests already cover. */
#ifndef GUST_CUDA_FP8_CUH
#define GUST_CUDA_FP8_CUH

#include <stdint.h>

#include "../e4m3.h"

__device__ inline uint8_t gust_f32_to_e4m3(float x) { return gust_e4m3_encode(x); }

/* Activation quantisation for an FP8 linear: e4m3(x / act_scale) by a true IEEE division (__fdiv_rn),
 * exactly as the CPU backend and transformers do; a multiply by 1/act_scale differs in the last bit. */
__device__ inline uint8_t gust_quantize_act(float x, float act_scale) { return gust_f32_to_e4m3(__fdiv_rn(x, act_scale)); }

#endif
