/* gust_fill_random on the GPU: one thread per element (grid-stride), the rule of kernels/fill_core.h. The CPU
 * library's kernels/cpu/fill.c is its spec; both produce the same bytes. */
#include "../fill_core.h"
#include "common.cuh"

namespace {

__global__ void fill_e4m3_kernel(uint8_t *out, uint64_t n, uint32_t seed, uint32_t tensor_id, uint64_t first) {
  const uint64_t stride = (uint64_t)gridDim.x * blockDim.x;
  for (uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
    out[i] = gust_fill_e4m3(gust_fill_hash(seed, tensor_id, first + i));
  }
}

/* bf16 when out16 is set, f32 otherwise; __fmul_rn/__fadd_rn keep the two roundings of the spec (no FMA). */
__global__ void fill_float_kernel(float *out32, uint16_t *out16, uint64_t n, uint32_t seed, uint32_t tensor_id,
                                  uint64_t first, float offset, float scale) {
  const uint64_t stride = (uint64_t)gridDim.x * blockDim.x;
  for (uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
    const float value = __fadd_rn(__fmul_rn(scale, gust_fill_uniform(gust_fill_hash(seed, tensor_id, first + i))),
                                  offset);
    if (out16) out16[i] = gust_bf16_encode(value);
    else out32[i] = value;
  }
}

}  // namespace

extern "C" int32_t gust_fill_random(void *buffer, uint64_t count, int32_t dtype, int32_t seed, int32_t tensor_id,
                                    uint64_t first_index, float offset, float scale) {
  GUST_REQUIRE(buffer || count == 0, "gust_fill_random: NULL buffer");
  GUST_REQUIRE(dtype == GUST_DTYPE_F32 || dtype == GUST_DTYPE_BF16 || dtype == GUST_DTYPE_F8_E4M3,
               "gust_fill_random: dtype %d must be f32 (0), bf16 (2) or f8_e4m3 (3)", dtype);
  GUST_TRY(gust_require_init("gust_fill_random"));
  if (count == 0) return GUST_OK;
  const unsigned blocks = gust_blocks_for(count, 256, (unsigned)g_cuda.sm_count * 32);
  const uint32_t s = (uint32_t)seed, t = (uint32_t)tensor_id;
  if (dtype == GUST_DTYPE_F8_E4M3) {
    fill_e4m3_kernel<<<blocks, 256, 0, g_cuda.stream>>>((uint8_t *)buffer, count, s, t, first_index);
  } else {
    uint16_t *out16 = dtype == GUST_DTYPE_BF16 ? (uint16_t *)buffer : nullptr;
    fill_float_kernel<<<blocks, 256, 0, g_cuda.stream>>>((float *)buffer, out16, count, s, t, first_index, offset,
                                                         scale);
  }
  return gust_after_launch("gust_fill_random");
}
