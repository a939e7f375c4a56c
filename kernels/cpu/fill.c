/* gust_fill_random on the CPU: the reference for the CUDA twin (kernels/fill_core.h holds the rule). */
#include "../fill_core.h"
#include "internal.h"

int32_t gust_fill_random(void *buffer, uint64_t count, int32_t dtype, int32_t seed, int32_t tensor_id,
                         uint64_t first_index, float offset, float scale) {
  GUST_REQUIRE(buffer || count == 0, "gust_fill_random: NULL buffer");
  GUST_REQUIRE(dtype == GUST_DTYPE_F32 || dtype == GUST_DTYPE_BF16 || dtype == GUST_DTYPE_F8_E4M3,
               "gust_fill_random: dtype %d must be f32 (0), bf16 (2) or f8_e4m3 (3)", dtype);
  const uint32_t s = (uint32_t)seed, t = (uint32_t)tensor_id;
  const int64_t n = (int64_t)count;
  if (dtype == GUST_DTYPE_F8_E4M3) {
    uint8_t *out = (uint8_t *)buffer;
#pragma omp parallel for schedule(static) if (n > (1 << 16))
    for (int64_t i = 0; i < n; i++) out[i] = gust_fill_e4m3(gust_fill_hash(s, t, first_index + (uint64_t)i));
    return GUST_OK;
  }
#pragma omp parallel for schedule(static) if (n > (1 << 16))
  for (int64_t i = 0; i < n; i++) {
    const float scaled = scale * gust_fill_uniform(gust_fill_hash(s, t, first_index + (uint64_t)i));
    const float value = scaled + offset;
    if (dtype == GUST_DTYPE_F32) ((float *)buffer)[i] = value;
    else ((uint16_t *)buffer)[i] = gust_bf16_encode(value);
  }
  return GUST_OK;
}
