/* FP8 E4M3 quantise/dequantise entry points, and the activation quantiser the FP8 linears use. */
#include <math.h>

#include "common.cuh"
#include "fp8.cuh"
#include "linear.cuh"

__global__ void fp8_quantize_kernel(uint8_t *__restrict__ codes, const float *__restrict__ x, uint64_t n, float scale) {
  for (uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (uint64_t)gridDim.x * blockDim.x)
    codes[i] = gust_quantize_act(x[i], scale);
}

__global__ void fp8_dequantize_kernel(float *__restrict__ y, const uint8_t *__restrict__ codes, uint64_t n, float scale) {
  for (uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (uint64_t)gridDim.x * blockDim.x)
    y[i] = gust_e4m3_value(codes[i]) * scale;
}

/* xq[t, k] = e4m3(x[t, k] / act_scale) for k < K, and 0 for K <= k < row_stride, so the linear kernels
 * can load whole 16-byte pieces of every row without a bounds check. One thread writes 4 codes.
 * Example: T = 2, K = 10, row_stride = 16: thread 5 handles row 1, codes 4..7 (x[1, 4..7]); thread 6
 * handles row 1, codes 8..11, of which 10 and 11 are padding zeros. */
__global__ void quantize_rows_kernel(uint8_t *__restrict__ xq, const float *__restrict__ x, int32_t T, int32_t K,
                                     int32_t row_stride, float act_scale) {
  int64_t quads_per_row = row_stride / 4;
  int64_t total = (int64_t)T * quads_per_row;
  for (int64_t q = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; q < total; q += (int64_t)gridDim.x * blockDim.x) {
    int64_t t = q / quads_per_row;
    int32_t k0 = (int32_t)(q % quads_per_row) * 4;
    const float *xr = x + t * K;
    uint32_t packed = 0;
#pragma unroll
    for (int j = 0; j < 4; j++) {
      int32_t k = k0 + j;
      uint32_t code = k < K ? gust_quantize_act(xr[k], act_scale) : 0u;
      packed |= code << (8 * j);
    }
    *(uint32_t *)(xq + t * row_stride + k0) = packed;
  }
}

int32_t gust_quantize_rows(uint8_t *xq, const float *x, int32_t T, int32_t K, int32_t row_stride, float act_scale) {
  int64_t total = (int64_t)T * (row_stride / 4);
  quantize_rows_kernel<<<gust_blocks_for((uint64_t)total, 256, (unsigned)g_cuda.sm_count * 16), 256, 0, g_cuda.stream>>>(
      xq, x, T, K, row_stride, act_scale);
  return gust_after_launch("gust_linear (activation quantisation)");
}

extern "C" {

int32_t gust_fp8_quantize(void *codes_u8, const void *x_f32, uint64_t n, float scale) {
  GUST_REQUIRE(codes_u8 && x_f32, "gust_fp8_quantize: NULL pointer");
  GUST_REQUIRE(scale > 0.0f && isfinite(scale), "gust_fp8_quantize: scale must be a positive finite number, got %g",
               (double)scale);
  GUST_TRY(gust_require_init("gust_fp8_quantize"));
  if (n == 0) return GUST_OK;
  fp8_quantize_kernel<<<gust_blocks_for(n, 256, (unsigned)g_cuda.sm_count * 16), 256, 0, g_cuda.stream>>>(
      (uint8_t *)codes_u8, (const float *)x_f32, n, scale);
  return gust_after_launch("gust_fp8_quantize");
}

int32_t gust_fp8_dequantize(void *y_f32, const void *codes_u8, uint64_t n, float scale) {
  GUST_REQUIRE(y_f32 && codes_u8, "gust_fp8_dequantize: NULL pointer");
  GUST_TRY(gust_require_init("gust_fp8_dequantize"));
  if (n == 0) return GUST_OK;
  fp8_dequantize_kernel<<<gust_blocks_for(n, 256, (unsigned)g_cuda.sm_count * 16), 256, 0, g_cuda.stream>>>(
      (float *)y_f32, (const uint8_t *)codes_u8, n, scale);
  return gust_after_launch("gust_fp8_dequantize");
}

} /* extern "C" */
