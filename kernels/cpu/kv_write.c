/* Paged KV cache writes in the cache's storage dtype (see gust.h for the layout and the formats). */
#include "kv_store.h"

int32_t gust_kv_write(void *k_cache, void *v_cache, const void *k_f32, const void *v_f32, const void *slots_i32,
                      int32_t num_tokens, int32_t num_kv_heads, int32_t head_dim, int32_t num_blocks,
                      int32_t block_size, int32_t kv_dtype, float k_scale, float v_scale) {
  GUST_REQUIRE(k_cache && v_cache && k_f32 && v_f32 && slots_i32, "gust_kv_write: NULL pointer");
  int32_t format = gust_check_kv_format("gust_kv_write", kv_dtype, k_scale, v_scale);
  if (format != GUST_OK) return format;
  const int32_t *slots = (const int32_t *)slots_i32;
  int64_t num_slots = (int64_t)num_blocks * block_size;
  for (int32_t t = 0; t < num_tokens; t++)
    GUST_REQUIRE(slots[t] >= -1 && slots[t] < num_slots, "gust_kv_write: slot %d of row %d is outside [-1, %lld)",
                 slots[t], t, (long long)num_slots);
  size_t row = (size_t)num_kv_heads * head_dim;
  for (int32_t t = 0; t < num_tokens; t++) {
    if (slots[t] < 0) continue;
    size_t at = (size_t)slots[t] * row;
    gust_kv_store(k_cache, kv_dtype, at, (const float *)k_f32 + (size_t)t * row, (int32_t)row, k_scale);
    gust_kv_store(v_cache, kv_dtype, at, (const float *)v_f32 + (size_t)t * row, (int32_t)row, v_scale);
  }
  return GUST_OK;
}

