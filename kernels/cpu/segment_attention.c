/* Non-causal attention over variable-length segments (the vision tower's block-diagonal attention):
 * no KV cache, q/k/v are contiguous [T, heads, head_dim] rows, and a token attends to every token of
 * its own segment and to nothing else (see gust.h for the exact contract). */
#include <float.h>
#include <stdlib.h>

#include "internal.h"

/* Validates segment starts so the loop below can index without checks. */
static int32_t check_segments(const int32_t *starts, int32_t num_segments, int32_t num_tokens, int32_t *max_len) {
  GUST_REQUIRE(starts[0] == 0 && starts[num_segments] == num_tokens,
               "gust_segment_attention: segment_starts must run from 0 to num_tokens %d, got %d..%d", num_tokens,
               starts[0], starts[num_segments]);
  *max_len = 1;
  for (int32_t s = 0; s < num_segments; s++) {
    int32_t len = starts[s + 1] - starts[s];
    GUST_REQUIRE(len >= 0, "gust_segment_attention: segment_starts decreases at segment %d (%d then %d)", s, starts[s],
                 starts[s + 1]);
    if (len > *max_len) *max_len = len;
  }
  return GUST_OK;
}

int32_t gust_segment_attention(void *out_f32, const void *q_f32, const void *k_f32, const void *v_f32,
                               const void *segment_starts_i32, int32_t num_segments, int32_t num_tokens,
                               int32_t num_heads, int32_t num_kv_heads, int32_t head_dim, float scale) {
  GUST_REQUIRE(out_f32 && q_f32 && k_f32 && v_f32 && segment_starts_i32, "gust_segment_attention: NULL pointer");
  GUST_REQUIRE(num_segments > 0 && num_tokens >= 0 && head_dim > 0, "gust_segment_attention: bad sizes (%d segments, %d tokens, head_dim %d)",
               num_segments, num_tokens, head_dim);
  GUST_REQUIRE(num_kv_heads > 0 && num_heads % num_kv_heads == 0,
               "gust_segment_attention: %d query heads are not a multiple of %d KV heads", num_heads, num_kv_heads);
  const int32_t *starts = (const int32_t *)segment_starts_i32;
  int32_t max_len;
  int32_t status = check_segments(starts, num_segments, num_tokens, &max_len);
  if (status != GUST_OK) return status;

  /* segment of each row, so the parallel loop below can run over flat (row, head) items */
  int32_t *row_segment = (int32_t *)malloc(sizeof(int32_t) * (size_t)(num_tokens > 0 ? num_tokens : 1));
  if (!row_segment) return gust_fail(GUST_ERR_OUT_OF_MEMORY, "gust_segment_attention: no memory");
  for (int32_t s = 0; s < num_segments; s++)
    for (int32_t r = starts[s]; r < starts[s + 1]; r++) row_segment[r] = s;

  const float *q = (const float *)q_f32, *k = (const float *)k_f32, *v = (const float *)v_f32;
  float *out = (float *)out_f32;
  int32_t group = num_heads / num_kv_heads;
  size_t q_row = (size_t)num_heads * head_dim, kv_row = (size_t)num_kv_heads * head_dim;
  int64_t work = (int64_t)num_tokens * num_heads;
  int failed = 0;

#pragma omp parallel if (work * max_len * head_dim > 65536)
  {
    float *scores = (float *)malloc(sizeof(float) * (size_t)max_len);
    if (!scores) {
#pragma omp atomic write
      failed = 1;
    }
#pragma omp for schedule(dynamic, 4)
    for (int64_t item = 0; item < work; item++) {
      if (!scores) continue;
      int32_t row = (int32_t)(item / num_heads), h = (int32_t)(item % num_heads), s = row_segment[row];
      int32_t begin = starts[s], len = starts[s + 1] - begin;
      const float *qv = q + (size_t)row * q_row + (size_t)h * head_dim;
      size_t kv_off = (size_t)(h / group) * head_dim;
      /* two passes (scores, then softmax · V), as gust_attention does, to stay close to a plain softmax */
      float max_score = -FLT_MAX;
      for (int32_t j = 0; j < len; j++) {
        const float *kv = k + (size_t)(begin + j) * kv_row + kv_off;
        float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
        for (int32_t d = 0; d < head_dim; d++) dot += qv[d] * kv[d];
        scores[j] = dot * scale;
        if (scores[j] > max_score) max_score = scores[j];
      }
      float total = 0.0f;
      for (int32_t j = 0; j < len; j++) {
        scores[j] = expf(scores[j] - max_score);
        total += scores[j];
      }
      float *ov = out + (size_t)row * q_row + (size_t)h * head_dim;
      for (int32_t d = 0; d < head_dim; d++) ov[d] = 0.0f;
      for (int32_t j = 0; j < len; j++) {
        const float *vv = v + (size_t)(begin + j) * kv_row + kv_off;
        float weight = scores[j] / total;
#pragma omp simd
        for (int32_t d = 0; d < head_dim; d++) ov[d] += weight * vv[d];
      }
    }
    free(scores);
  }
  free(row_segment);
  if (failed) return gust_fail(GUST_ERR_OUT_OF_MEMORY, "gust_segment_attention: no memory for a %d-score buffer", max_len);
  return GUST_OK;
}
