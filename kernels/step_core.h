/* gust_step's body, shared by the CPU library (kernels/cpu/step.c) and the CUDA library (kernels/cuda/step.cu):
 * the forward of runtime/model/text-model.ts, its per-kernel twin and spec, call for call through this library's
 * own exports, then gust_sample. One host call queues the whole step; on CUDA every export launches on the
 * library's stream, so this is the place a CUDA graph per decode bucket is recorded later. Not part of the ABI. */
#ifndef GUST_STEP_CORE_H
#define GUST_STEP_CORE_H

#include <stddef.h>

#include "gust.h"

/* The layouts ffi/step.ts packs (sequentially, pointers first): a size change is an ABI change. */
#ifdef __cplusplus
static_assert(sizeof(gust_weight) == 24 && sizeof(gust_step_layer) == 248, "gust_step layout");
static_assert(sizeof(gust_step_sample) == 96 && sizeof(gust_step_desc) == 384, "gust_step layout");
#else
_Static_assert(sizeof(gust_weight) == 24 && sizeof(gust_step_layer) == 248, "gust_step layout");
_Static_assert(sizeof(gust_step_sample) == 96 && sizeof(gust_step_desc) == 384, "gust_step layout");
#endif

#define GUST_STEP_TRY(call)                                                                                          \
  do {                                                                                                               \
    int32_t status_ = (call);                                                                                        \
    if (status_ != GUST_OK) return status_;                                                                          \
  } while (0)

static inline int32_t gust_step_linear(void *y, const void *x, const gust_weight *w, int32_t t, int32_t n, int32_t k) {
  return gust_linear(y, x, w->data, w->dtype, t, n, k, w->act_scale, w->weight_scale);
}

static inline int32_t gust_step_layer_run(const gust_step_desc *d, const gust_step_layer *L) {
  int32_t T = d->num_tokens, C = d->hidden, H = d->num_heads, KV = d->num_kv_heads, D = d->head_dim;
  int32_t q_width = H * D, kv_width = KV * D, F = d->intermediate;
  uint64_t residual = (uint64_t)T * (uint64_t)C;
  GUST_STEP_TRY(gust_rmsnorm(d->normed, d->h, L->attn_norm.data, L->attn_norm.dtype, T, C, d->rms_eps));
  GUST_STEP_TRY(gust_step_linear(d->q, d->normed, &L->q, T, q_width, C));
  GUST_STEP_TRY(gust_step_linear(d->k, d->normed, &L->k, T, kv_width, C));
  GUST_STEP_TRY(gust_step_linear(d->v, d->normed, &L->v, T, kv_width, C));
  GUST_STEP_TRY(gust_rope(d->q, d->positions, d->cos_f32, d->sin_f32, T, H, D, d->table_len));
  GUST_STEP_TRY(gust_rope(d->k, d->positions, d->cos_f32, d->sin_f32, T, KV, D, d->table_len));
  GUST_STEP_TRY(gust_query_scale(d->q, d->positions, T, q_width, d->query_beta, d->query_original_max));
  GUST_STEP_TRY(gust_kv_write(L->k_cache, L->v_cache, d->k, d->v, d->slots, T, KV, D, d->num_blocks, d->block_size,
                              L->kv_dtype, L->k_scale, L->v_scale));
  int32_t max_blocks = d->max_blocks_per_seq > 1 ? d->max_blocks_per_seq : 1;
  GUST_STEP_TRY(gust_attention(d->attn, d->q, L->k_cache, L->v_cache, d->query_starts, d->context_lens,
                               d->block_tables, d->num_seqs, T, H, KV, D, d->block_size, max_blocks, d->num_blocks,
                               d->attn_scale, L->kv_dtype, L->k_scale, L->v_scale));
  GUST_STEP_TRY(gust_step_linear(d->proj, d->attn, &L->o, T, C, q_width));
  GUST_STEP_TRY(gust_add(d->h, d->h, d->proj, residual));
  GUST_STEP_TRY(gust_rmsnorm(d->normed, d->h, L->mlp_norm.data, L->mlp_norm.dtype, T, C, d->rms_eps));
  GUST_STEP_TRY(gust_step_linear(d->gate, d->normed, &L->gate, T, F, C));
  GUST_STEP_TRY(gust_step_linear(d->up, d->normed, &L->up, T, F, C));
  GUST_STEP_TRY(gust_silu_mul(d->gate, d->gate, d->up, (uint64_t)T * (uint64_t)F));
  GUST_STEP_TRY(gust_step_linear(d->proj, d->gate, &L->down, T, C, F));
  return gust_add(d->h, d->h, d->proj, residual);
}

static inline int32_t gust_step_run(const gust_step_desc *d) {
  int32_t T = d->num_tokens, S = d->num_seqs, R = d->num_rows, C = d->hidden;
  if (!(T > 0 && S > 0 && R >= 0 && d->num_layers > 0 && d->max_blocks_per_seq >= 0))
    return gust_fail(GUST_ERR_INVALID_ARGUMENT, "gust_step: bad sizes (%d tokens, %d sequences, %d rows)", T, S, R);
  if (d->sample && R == 0) return gust_fail(GUST_ERR_INVALID_ARGUMENT, "gust_step: sampling asked with no logit rows");
  uint64_t t4 = (uint64_t)T * 4, tables = (uint64_t)S * (uint64_t)d->max_blocks_per_seq * 4;
  GUST_STEP_TRY(gust_upload(d->ids, 0, d->host_ids, t4));
  GUST_STEP_TRY(gust_upload(d->positions, 0, d->host_positions, t4));
  GUST_STEP_TRY(gust_upload(d->slots, 0, d->host_slots, t4));
  GUST_STEP_TRY(gust_upload(d->query_starts, 0, d->host_query_starts, (uint64_t)(S + 1) * 4));
  GUST_STEP_TRY(gust_upload(d->context_lens, 0, d->host_context_lens, (uint64_t)S * 4));
  if (tables > 0) GUST_STEP_TRY(gust_upload(d->block_tables, 0, d->host_block_tables, tables));
  GUST_STEP_TRY(gust_embed(d->h, d->embed.data, d->embed.dtype, d->ids, T, d->vocab, C));
  for (int32_t l = 0; l < d->num_layers; l++) GUST_STEP_TRY(gust_step_layer_run(d, &d->layers[l]));
  if (R == 0) return GUST_OK;
  GUST_STEP_TRY(gust_upload(d->row_index, 0, d->host_row_index, (uint64_t)R * 4));
  GUST_STEP_TRY(gust_gather_rows(d->rows, d->h, d->row_index, R, C, T));
  GUST_STEP_TRY(gust_rmsnorm(d->rows_normed, d->rows, d->final_norm.data, d->final_norm.dtype, R, C, d->rms_eps));
  GUST_STEP_TRY(gust_step_linear(d->logits, d->rows_normed, &d->lm_head, R, d->vocab, C));
  const gust_step_sample *s = d->sample;
  if (!s) return GUST_OK;
  return gust_sample(s->out_tokens_i32, s->out_logprobs_f64, s->out_top_ids_i32, d->logits, R, d->vocab, s->params,
                     s->num_rows, s->bias_ids_i32, s->bias_values_f32, s->count_ids_i32, s->counts_i32,
                     s->seen_ids_i32, s->masks_u32, s->num_masks, s->max_logprobs);
}

#endif
