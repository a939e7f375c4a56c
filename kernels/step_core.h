/* gust_step's body, shared by the CPU library (kernels/cpu/step.c) and the CUDA library (kernels/cuda/step.cu):
 * the forward of runtime/model/text-model.ts, its per-kernel twin and spec, call for call through this library's
 * own exports, then gust_sample. One host call queues the whole step; on CUDA every export launches on the
 * library's stream, and kernels/cuda/step_graph.cu records gust_step_compute as a graph per decode bucket.
 * Not part of the ABI. */
#ifndef GUST_STEP_CORE_H
#define GUST_STEP_CORE_H

#include <stddef.h>

#include "gust.h"

/* The layouts ffi/step.ts packs (sequentially, pointers first): a size change is an ABI change. */
#ifdef __cplusplus
static_assert(sizeof(gust_weight) == 24 && sizeof(gust_step_layer) == 248, "gust_step layout");
static_assert(sizeof(gust_step_sample) == 96 && sizeof(gust_step_desc) == 392, "gust_step layout");
#else
_Static_assert(sizeof(gust_weight) == 24 && sizeof(gust_step_layer) == 248, "gust_step layout");
_Static_assert(sizeof(gust_step_sample) == 96 && sizeof(gust_step_desc) == 392, "gust_step layout");
#endif

#define GUST_STEP_TRY(call)                                                                                          \
  do {                                                                                                               \
    int32_t status_ = (call);                                                                                        \
    if (status_ != GUST_OK) return status_;                                                                          \
  } while (0)

static inline int32_t gust_step_linear(void *y, const void *x, const gust_weight *w, int32_t t, int32_t n, int32_t k) {
  return gust_linear(y, x, w->data, w->dtype, t, n, k, w->act_scale, w->weight_scale);
}

/* A layer's first half up to its KV write: what every token of the batch needs, pruned or not. */
static inline int32_t gust_step_layer_kv(const gust_step_desc *d, const gust_step_layer *L) {
  int32_t T = d->num_tokens, C = d->hidden, H = d->num_heads, KV = d->num_kv_heads, D = d->head_dim;
  int32_t q_width = H * D, kv_width = KV * D;
  GUST_STEP_TRY(gust_rmsnorm(d->normed, d->h, L->attn_norm.data, L->attn_norm.dtype, T, C, d->rms_eps));
  GUST_STEP_TRY(gust_step_linear(d->q, d->normed, &L->q, T, q_width, C));
  GUST_STEP_TRY(gust_step_linear(d->k, d->normed, &L->k, T, kv_width, C));
  GUST_STEP_TRY(gust_step_linear(d->v, d->normed, &L->v, T, kv_width, C));
  GUST_STEP_TRY(gust_rope(d->q, d->positions, d->cos_f32, d->sin_f32, T, H, D, d->table_len));
  GUST_STEP_TRY(gust_rope(d->k, d->positions, d->cos_f32, d->sin_f32, T, KV, D, d->table_len));
  GUST_STEP_TRY(gust_query_scale(d->q, d->positions, T, q_width, d->query_beta, d->query_original_max));
  return gust_kv_write(L->k_cache, L->v_cache, d->k, d->v, d->slots, T, KV, D, d->num_blocks, d->block_size,
                       L->kv_dtype, L->k_scale, L->v_scale);
}

/* Attention, o_proj and the residual add into h, for every token. */
static inline int32_t gust_step_layer_attention(const gust_step_desc *d, const gust_step_layer *L) {
  int32_t T = d->num_tokens, C = d->hidden, H = d->num_heads, KV = d->num_kv_heads, D = d->head_dim;
  int32_t max_blocks = d->max_blocks_per_seq > 1 ? d->max_blocks_per_seq : 1;
  GUST_STEP_TRY(gust_attention(d->attn, d->q, L->k_cache, L->v_cache, d->query_starts, d->context_lens,
                               d->block_tables, d->num_seqs, T, H, KV, D, d->block_size, max_blocks, d->num_blocks,
                               d->attn_scale, L->kv_dtype, L->k_scale, L->v_scale));
  GUST_STEP_TRY(gust_step_linear(d->proj, d->attn, &L->o, T, C, H * D));
  return gust_add(d->h, d->h, d->proj, (uint64_t)T * (uint64_t)C);
}

/* x[t, C] += down(silu(gate(n)) · up(n)) with n = rmsnorm(x): the FFN half, on every token or on the logit rows. */
static inline int32_t gust_step_layer_mlp(const gust_step_desc *d, const gust_step_layer *L, void *x, int32_t t) {
  int32_t C = d->hidden, F = d->intermediate;
  GUST_STEP_TRY(gust_rmsnorm(d->normed, x, L->mlp_norm.data, L->mlp_norm.dtype, t, C, d->rms_eps));
  GUST_STEP_TRY(gust_step_linear(d->gate, d->normed, &L->gate, t, F, C));
  GUST_STEP_TRY(gust_step_linear(d->up, d->normed, &L->up, t, F, C));
  GUST_STEP_TRY(gust_silu_mul(d->gate, d->gate, d->up, (uint64_t)t * (uint64_t)F));
  GUST_STEP_TRY(gust_step_linear(d->proj, d->gate, &L->down, t, C, F));
  return gust_add(x, x, d->proj, (uint64_t)t * (uint64_t)C);
}

static inline int32_t gust_step_check(const gust_step_desc *d) {
  int32_t T = d->num_tokens, S = d->num_seqs, R = d->num_rows;
  if (!(T > 0 && S > 0 && R >= 0 && d->num_layers > 0 && d->max_blocks_per_seq >= 0))
    return gust_fail(GUST_ERR_INVALID_ARGUMENT, "gust_step: bad sizes (%d tokens, %d sequences, %d rows)", T, S, R);
  if (d->sample && R == 0) return gust_fail(GUST_ERR_INVALID_ARGUMENT, "gust_step: sampling asked with no logit rows");
  if (d->flags & ~GUST_STEP_GRAPH)
    return gust_fail(GUST_ERR_INVALID_ARGUMENT, "gust_step: unknown flags 0x%x (known: GUST_STEP_GRAPH = 1)", d->flags);
  return GUST_OK;
}

/* The batch's index arrays in descriptor order: host source, device buffer and bytes (a CUDA graph stages them
 * in pinned memory at fixed places and copies from there). */
#define GUST_STEP_INDEX_ARRAYS 7
static inline void gust_step_index_arrays(const gust_step_desc *d, const void *host[], void *device[],
                                          uint64_t bytes[]) {
  const uint64_t t4 = (uint64_t)d->num_tokens * 4, s = (uint64_t)d->num_seqs;
  const void *h[GUST_STEP_INDEX_ARRAYS] = {d->host_ids,          d->host_positions,    d->host_slots,
                                           d->host_query_starts, d->host_context_lens, d->host_block_tables,
                                           d->host_row_index};
  void *v[GUST_STEP_INDEX_ARRAYS] = {d->ids,          d->positions,    d->slots,    d->query_starts,
                                     d->context_lens, d->block_tables, d->row_index};
  const uint64_t n[GUST_STEP_INDEX_ARRAYS] = {
      t4, t4, t4, (s + 1) * 4, s * 4, s * (uint64_t)d->max_blocks_per_seq * 4, (uint64_t)d->num_rows * 4};
  for (int i = 0; i < GUST_STEP_INDEX_ARRAYS; i++) host[i] = h[i], device[i] = v[i], bytes[i] = n[i];
}

/* Embedding → layers → final norm and lm_head of the logit rows, reading the batch from the device index arrays. */
static inline int32_t gust_step_compute(const gust_step_desc *d) {
  int32_t T = d->num_tokens, R = d->num_rows, C = d->hidden;
  GUST_STEP_TRY(gust_embed(d->h, d->embed.data, d->embed.dtype, d->ids, T, d->vocab, C));
  for (int32_t l = 0; l + 1 < d->num_layers; l++) {
    GUST_STEP_TRY(gust_step_layer_kv(d, &d->layers[l]));
    GUST_STEP_TRY(gust_step_layer_attention(d, &d->layers[l]));
    GUST_STEP_TRY(gust_step_layer_mlp(d, &d->layers[l], d->h, T));
  }
  /* the last layer's FFN on the logit rows only, as the per-kernel forward (runtime/model/text-model.ts) prunes */
  const gust_step_layer *last = &d->layers[d->num_layers - 1];
  GUST_STEP_TRY(gust_step_layer_kv(d, last));
  if (R == 0) return GUST_OK;
  GUST_STEP_TRY(gust_step_layer_attention(d, last));
  GUST_STEP_TRY(gust_gather_rows(d->rows, d->h, d->row_index, R, C, T));
  GUST_STEP_TRY(gust_step_layer_mlp(d, last, d->rows, R));
  GUST_STEP_TRY(gust_rmsnorm(d->rows_normed, d->rows, d->final_norm.data, d->final_norm.dtype, R, C, d->rms_eps));
  return gust_step_linear(d->logits, d->rows_normed, &d->lm_head, R, d->vocab, C);
}

static inline int32_t gust_step_sample_rows(const gust_step_desc *d) {
  const gust_step_sample *s = d->sample;
  if (!s) return GUST_OK;
  return gust_sample(s->out_tokens_i32, s->out_logprobs_f64, s->out_top_ids_i32, d->logits, d->num_rows, d->vocab,
                     s->params, s->num_rows, s->bias_ids_i32, s->bias_values_f32, s->count_ids_i32, s->counts_i32,
                     s->seen_ids_i32, s->masks_u32, s->num_masks, s->max_logprobs);
}

/* The whole step, export after export (both libraries' eager path). */
static inline int32_t gust_step_run(const gust_step_desc *d) {
  GUST_STEP_TRY(gust_step_check(d));
  const void *host[GUST_STEP_INDEX_ARRAYS];
  void *device[GUST_STEP_INDEX_ARRAYS];
  uint64_t bytes[GUST_STEP_INDEX_ARRAYS];
  gust_step_index_arrays(d, host, device, bytes);
  for (int i = 0; i < GUST_STEP_INDEX_ARRAYS; i++)
    if (bytes[i] > 0) GUST_STEP_TRY(gust_upload(device[i], 0, host[i], bytes[i]));
  GUST_STEP_TRY(gust_step_compute(d));
  return gust_step_sample_rows(d);
}

#endif
