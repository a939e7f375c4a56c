/* Paged KV cache writes in the cache's storage format (gust.h, "KV cache storage"); the same encodings as
 * the CPU backend (kernels/bf16.h, kernels/e4m3.h), so both caches hold the same bytes. */
#include <math.h>

#include "../bf16.h"
#include "common.cuh"
#include "fp8.cuh"

namespace {

struct StoreF32 {
  using T = float;
  __device__ static T encode(float x, float) { return x; }
};
struct StoreBf16 {
  using T = uint16_t;
  __device__ static T encode(float x, float) { return gust_bf16_encode(x); }
};
struct StoreE4m3 {
  using T = uint8_t;
  /* a true division, as gust_fp8_quantize and the CPU cache write do */
  __device__ static T encode(float x, float scale) { return gust_f32_to_e4m3(__fdiv_rn(x, scale)); }
};

/* One block per token: stores its K and V rows (num_kv_heads · head_dim values) at slot slots[t]; −1 skips.
 * Example: block_size 16, slot 37 = block 2, offset 5 → elements 37 · row .. 38 · row − 1 of each cache.
 * Two tokens naming the same slot land in an unspecified order (the engine never does that). */
template <class Store>
__global__ void kv_write_kernel(typename Store::T *__restrict__ k_cache, typename Store::T *__restrict__ v_cache,
                                const float *__restrict__ k, const float *__restrict__ v,
                                const int32_t *__restrict__ slots, int32_t row, int64_t num_slots, float k_scale,
                                float v_scale, GustDeviceErrors errs) {
  const int32_t t = blockIdx.x, slot = slots[t];
  if (slot < -1 || slot >= num_slots) {
    if (threadIdx.x == 0) gust_report(errs, GUST_CHECK_KV_SLOT, slot, t, num_slots);
    return;
  }
  if (slot < 0) return;
  for (int32_t c = threadIdx.x; c < row; c += blockDim.x) {
    k_cache[(int64_t)slot * row + c] = Store::encode(k[(int64_t)t * row + c], k_scale);
    v_cache[(int64_t)slot * row + c] = Store::encode(v[(int64_t)t * row + c], v_scale);
  }
}

template <class Store>
int32_t launch(void *k_cache, void *v_cache, const void *k, const void *v, const void *slots, int32_t num_tokens,
               int32_t row, int64_t num_slots, float k_scale, float v_scale) {
  using T = typename Store::T;
  kv_write_kernel<Store><<<num_tokens, 256, 0, g_cuda.stream>>>((T *)k_cache, (T *)v_cache, (const float *)k,
                                                                (const float *)v, (const int32_t *)slots, row,
                                                                num_slots, k_scale, v_scale, g_cuda.errors);
  return gust_after_launch("gust_kv_write");
}

} /* namespace */

extern "C" int32_t gust_kv_write(void *k_cache, void *v_cache, const void *k_f32, const void *v_f32,
                                 const void *slots_i32, int32_t num_tokens, int32_t num_kv_heads, int32_t head_dim,
                                 int32_t num_blocks, int32_t block_size, int32_t kv_dtype, float k_scale,
                                 float v_scale) {
  GUST_REQUIRE(k_cache && v_cache && k_f32 && v_f32 && slots_i32, "gust_kv_write: NULL pointer");
  GUST_TRY(gust_check_kv_format("gust_kv_write", kv_dtype, k_scale, v_scale));
  GUST_TRY(gust_require_init("gust_kv_write"));
  if (num_tokens <= 0) return GUST_OK;
  const int32_t row = num_kv_heads * head_dim;
  const int64_t num_slots = (int64_t)num_blocks * block_size;
  switch (kv_dtype) {
    case GUST_DTYPE_BF16:
      return launch<StoreBf16>(k_cache, v_cache, k_f32, v_f32, slots_i32, num_tokens, row, num_slots, k_scale, v_scale);
    case GUST_DTYPE_F8_E4M3:
      return launch<StoreE4m3>(k_cache, v_cache, k_f32, v_f32, slots_i32, num_tokens, row, num_slots, k_scale, v_scale);
    default:
      return launch<StoreF32>(k_cache, v_cache, k_f32, v_f32, slots_i32, num_tokens, row, num_slots, k_scale, v_scale);
  }
}
