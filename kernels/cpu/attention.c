/* Causal GQA attention over a ragged batch reading the paged KV cache (see gust.h for the layout). */
#include <float.h>
#include <stdlib.h>

#include "kv_store.h"

/* Validates the batch description so the kernel below can index without checks. */
static int32_t check_batch(const int32_t *query_starts, const int32_t *context_lens, const int32_t *block_tables,
                           int32_t num_seqs, int32_t num_tokens, int32_t block_size, int32_t max_blocks,
                           int32_t num_blocks) {
  GUST_REQUIRE(query_starts[0] == 0 && query_starts[num_seqs] == num_tokens,
               "gust_attention: query_starts must run from 0 to num_tokens %d, got %d..%d", num_tokens, query_starts[0],
               query_starts[num_seqs]);
  for (int32_t s = 0; s < num_seqs; s++) {
    int32_t rows = query_starts[s + 1] - query_starts[s];
    GUST_REQUIRE(rows >= 0, "gust_attention: query_starts decreases at sequence %d", s);
    GUST_REQUIRE(context_lens[s] >= rows, "gust_attention: sequence %d has %d query rows but only %d cached tokens", s,
                 rows, context_lens[s]);
    int32_t blocks_needed = (context_lens[s] + block_size - 1) / block_size;
    GUST_REQUIRE(blocks_needed <= max_blocks, "gust_attention: sequence %d needs %d blocks, its table holds %d", s,
                 blocks_needed, max_blocks);
    for (int32_t b = 0; b < blocks_needed; b++) {
      int32_t id = block_tables[(size_t)s * max_blocks + b];
      GUST_REQUIRE(id >= 0 && id < num_blocks, "gust_attention: sequence %d block %d is %d, outside [0, %d)", s, b, id,
                   num_blocks);
    }
  }
  return GUST_OK;
}

int32_t gust_attention(void *out_f32, const void *q_f32, const void *k_cache, const void *v_cache,
                       const void *query_starts_i32, const void *context_lens_i32, const void *block_tables_i32,
                       int32_t num_seqs, int32_t num_tokens, int32_t num_heads, int32_t num_kv_heads,
                       int32_t head_dim, int32_t block_size, int32_t max_blocks_per_seq, int32_t num_blocks,
                       float scale, int32_t kv_dtype, float k_scale, float v_scale) {
  GUST_REQUIRE(out_f32 && q_f32 && k_cache && v_cache && query_starts_i32 && context_lens_i32 && block_tables_i32,
               "gust_attention: NULL pointer");
  GUST_REQUIRE(num_kv_heads > 0 && num_heads % num_kv_heads == 0,
               "gust_attention: %d query heads are not a multiple of %d KV heads", num_heads, num_kv_heads);
  GUST_REQUIRE(block_size > 0 && head_dim > 0 && num_seqs > 0, "gust_attention: bad sizes");
  int32_t format = gust_check_kv_format("gust_attention", kv_dtype, k_scale, v_scale);
  if (format != GUST_OK) return format;
  const int32_t *query_starts = (const int32_t *)query_starts_i32, *context_lens = (const int32_t *)context_lens_i32;
  const int32_t *block_tables = (const int32_t *)block_tables_i32;
  int32_t status = check_batch(query_starts, context_lens, block_tables, num_seqs, num_tokens, block_size,
                               max_blocks_per_seq, num_blocks);
  if (status != GUST_OK) return status;
  if (gust_attention_tiled_fits(num_heads, num_kv_heads, head_dim))
    return gust_attention_tiled((float *)out_f32, (const float *)q_f32, k_cache, v_cache, kv_dtype, k_scale, v_scale,
                                query_starts, context_lens, block_tables, num_seqs, num_heads, num_kv_heads, head_dim,
                                block_size, max_blocks_per_seq, scale);

  int32_t *row_seq = (int32_t *)malloc(sizeof(int32_t) * (size_t)(num_tokens > 0 ? num_tokens : 1));
  if (!row_seq) return gust_fail(GUST_ERR_OUT_OF_MEMORY, "gust_attention: no memory");
  int32_t max_context = 1;
  for (int32_t s = 0; s < num_seqs; s++) {
    for (int32_t r = query_starts[s]; r < query_starts[s + 1]; r++) row_seq[r] = s;
    if (context_lens[s] > max_context) max_context = context_lens[s];
  }
  const float *q = (const float *)q_f32;
  float *out = (float *)out_f32;
  int32_t group = num_heads / num_kv_heads;
  size_t kv_row = (size_t)num_kv_heads * head_dim;
  int64_t work = (int64_t)num_tokens * num_heads;

#pragma omp parallel if (work * max_context * head_dim > 65536)
  {
    /* scores, then one K or V row converted to f32 (bf16 and FP8 caches; f32 rows are read in place) */
    float *scores = (float *)malloc(sizeof(float) * ((size_t)max_context + (size_t)head_dim));
    float *kv_row_f32 = scores + max_context;
#pragma omp for schedule(dynamic, 4)
    for (int64_t item = 0; item < work; item++) {
      int32_t row = (int32_t)(item / num_heads), h = (int32_t)(item % num_heads), s = row_seq[row];
      int32_t rows_in_seq = query_starts[s + 1] - query_starts[s];
      int32_t position = context_lens[s] - rows_in_seq + (row - query_starts[s]);
      const int32_t *table = block_tables + (size_t)s * max_blocks_per_seq;
      const float *qv = q + ((size_t)row * num_heads + h) * head_dim;
      size_t kv_off = (size_t)(h / group) * head_dim;
      /* two passes (scores, then softmax · V) so the result matches a plain softmax closely */
      float max_score = -FLT_MAX;
      for (int32_t p = 0; p <= position; p++) {
        size_t slot = (size_t)table[p / block_size] * block_size + p % block_size;
        const float *kv = gust_kv_load(kv_row_f32, k_cache, kv_dtype, slot * kv_row + kv_off, head_dim, k_scale);
        float dot = 0.0f;
        for (int32_t d = 0; d < head_dim; d++) dot += qv[d] * kv[d];
        scores[p] = dot * scale;
        if (scores[p] > max_score) max_score = scores[p];
      }
      float total = 0.0f;
      for (int32_t p = 0; p <= position; p++) {
        scores[p] = expf(scores[p] - max_score);
        total += scores[p];
      }
      float *ov = out + ((size_t)row * num_heads + h) * head_dim;
      for (int32_t d = 0; d < head_dim; d++) ov[d] = 0.0f;
      for (int32_t p = 0; p <= position; p++) {
        size_t slot = (size_t)table[p / block_size] * block_size + p % block_size;
        const float *vv = gust_kv_load(kv_row_f32, v_cache, kv_dtype, slot * kv_row + kv_off, head_dim, v_scale);
        float weight = scores[p] / total;
        for (int32_t d = 0; d < head_dim; d++) ov[d] += weight * vv[d];
      }
    }
    free(scores);
  }
  free(row_seq);
  return GUST_OK;
}
