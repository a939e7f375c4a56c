/* gust native ABI: the one contract between ffi/ (TypeScript over bun:ffi) and the kernel libraries.
 *
 * libgust_cpu.so and libgust_cuda.so export exactly these symbols. Rules:
 *  - every function returns a gust_status (0 = GUST_OK) except the few getters documented below;
 *  - nothing exits, prints or aborts; on failure the library records a message readable with
 *    gust_last_error() (thread-local, valid until the next failing call on the same thread);
 *  - "buffers" are opaque device pointers returned by gust_alloc (host memory for the CPU backend,
 *    device memory for CUDA); host data moves in and out only through gust_upload / gust_download;
 *  - activations are f32, row-major; weights may be f32, f16, bf16 or FP8 E4M3 (per-tensor scales);
 *  - integer index arrays (token ids, positions, slots, block tables) are int32 buffers.
 *
 * Bump GUST_ABI_VERSION whenever a signature or a semantic changes; ffi/ refuses a mismatched library.
 */
#ifndef GUST_H
#define GUST_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GUST_ABI_VERSION 8

typedef enum {
  GUST_OK = 0,
  GUST_ERR_INVALID_ARGUMENT = 1, /* a shape, dtype, index or pointer is out of range */
  GUST_ERR_OUT_OF_MEMORY = 2,
  GUST_ERR_UNSUPPORTED = 3, /* valid request this backend cannot do (e.g. dtype) */
  GUST_ERR_DEVICE = 4       /* the accelerator failed or is absent */
} gust_status;

typedef enum {
  GUST_DTYPE_F32 = 0,
  GUST_DTYPE_F16 = 1,
  GUST_DTYPE_BF16 = 2,
  GUST_DTYPE_F8_E4M3 = 3,
  GUST_DTYPE_I32 = 4,
  GUST_DTYPE_U8 = 5
} gust_dtype;

/* ---- library ---------------------------------------------------------------------------------- */
int32_t gust_abi_version(void);                /* returns GUST_ABI_VERSION */
const char *gust_backend_name(void);           /* "cpu" or "cuda" */
const char *gust_last_error(void);             /* "" when no error recorded */
int32_t gust_init(int32_t num_threads);        /* threads for the CPU backend (<=0: all cores) */
int32_t gust_num_threads(void);                /* returns the thread count in use */
int32_t gust_cpu_features(void);               /* bit 0: AVX2+FMA+F16C path active; bit 1: AVX-512 FP8 decode */
/* Restricts the CPU kernels to the feature bits in mask (0 = portable C only) so tests can run each
 * fast path against its portable twin; bits the processor lacks stay off. No-op on other backends. */
int32_t gust_cpu_use_features(int32_t mask);

/* ---- memory ----------------------------------------------------------------------------------- */
int32_t gust_alloc(uint64_t num_bytes, void **out_buffer); /* zero-filled, 64-byte aligned */
int32_t gust_free(void *buffer);
int32_t gust_upload(void *dst_buffer, uint64_t dst_offset, const void *src_host, uint64_t num_bytes);
int32_t gust_download(void *dst_host, const void *src_buffer, uint64_t src_offset, uint64_t num_bytes);
int32_t gust_copy(void *dst_buffer, uint64_t dst_offset, const void *src_buffer, uint64_t src_offset,
                  uint64_t num_bytes);
int32_t gust_synchronize(void);
/* Reads every byte of a buffer with all threads (a memory-bandwidth probe for benchmarks); writes a
 * checksum (the sum of the buffer's 32-bit words as floats) so the reads cannot be optimised away. */
int32_t gust_read_probe(const void *buffer, uint64_t num_bytes, void *out_checksum_f32);
/* The memory gust_alloc draws from, in bytes: for CUDA the device's free and total memory (cudaMemGetInfo), for
 * the CPU the host's available and total memory (/proc/meminfo MemAvailable and MemTotal). Sizes the KV pool. */
int32_t gust_memory_info(void *out_free_u64, void *out_total_u64);

/* ---- random weights (benchmarks without a checkpoint; kernels/fill_core.h holds the rule) ------------ */
/* Fills count elements of dtype (f32, bf16 or f8_e4m3) with element first_index + i of the random tensor
 * (seed, tensor_id): u = uniform in [−1, 1) from a counter hash, stored as offset + scale · u (rounded to bf16
 * for bf16); e4m3 codes are random with |value| ≤ 1.875 and never NaN (offset and scale unused). */
int32_t gust_fill_random(void *buffer, uint64_t count, int32_t dtype, int32_t seed, int32_t tensor_id,
                         uint64_t first_index, float offset, float scale);

/* ---- FP8 E4M3 (float8_e4m3fn: no infinities, 0x7F/0xFF are NaN, max finite 448) ---------------- */
/* codes[i] = e4m3(clamp(x[i] / scale, -448, 448)), round to nearest, ties to even (a true division,
 * as transformers does, not a multiply by 1/scale: the two differ in the last bit now and then). */
int32_t gust_fp8_quantize(void *codes_u8, const void *x_f32, uint64_t n, float scale);
/* y[i] = value(codes[i]) * scale */
int32_t gust_fp8_dequantize(void *y_f32, const void *codes_u8, uint64_t n, float scale);

/* ---- ops (all shapes row-major; T = number of token rows) -------------------------------------- */
/* out[t, :] = table[ids[t], :] as f32; fails if an id is outside [0, vocab). */
int32_t gust_embed(void *out_f32, const void *table, int32_t table_dtype, const void *ids_i32, int32_t num_tokens,
                   int32_t vocab, int32_t dim);

/* Linear layer y[T, N] = x[T, K] · W[N, K]ᵀ.
 *  f32/f16/bf16 weights: y = x·Wᵀ · weight_scale (pass 1.0 for plain weights); act_scale ignored.
 *  FP8 weights (static per-tensor, transformers' FP8Linear):
 *      y = (e4m3(clamp(x / act_scale, ±448)) · W_e4m3ᵀ) · act_scale · weight_scale
 *  Both scales are multipliers; act_scale must be > 0 for FP8. */
int32_t gust_linear(void *y_f32, const void *x_f32, const void *w, int32_t w_dtype, int32_t num_tokens, int32_t n_out,
                    int32_t k_in, float act_scale, float weight_scale);

/* y[t, :] = weight ⊙ (x[t, :] / sqrt(mean(x[t, :]²) + eps)); weight dtype f32/f16/bf16. */
int32_t gust_rmsnorm(void *y_f32, const void *x_f32, const void *weight, int32_t weight_dtype, int32_t num_tokens,
                     int32_t dim, float eps);

/* In-place rotate-half RoPE on x[T, num_heads, head_dim] with pairs (i, i + head_dim/2):
 *   x'[i] = x[i]·cos[p, i] − x[i + D/2]·sin[p, i];  x'[i + D/2] = x[i + D/2]·cos[p, i] + x[i]·sin[p, i]
 * where p = positions[t] and cos/sin are tables [table_len, head_dim/2] (attention factor folded in). */
int32_t gust_rope(void *x_f32, const void *positions_i32, const void *cos_f32, const void *sin_f32,
                  int32_t num_tokens, int32_t num_heads, int32_t head_dim, int32_t table_len);

/* llama-4 query scale, in place on q[T, width]: q[t, :] *= 1 + beta · ln(1 + floor(positions[t] / original_max)). */
int32_t gust_query_scale(void *q_f32, const void *positions_i32, int32_t num_tokens, int32_t width, float beta,
                         int32_t original_max);

/* Paged KV cache layout (one layer): cache[num_blocks, block_size, num_kv_heads, head_dim] of kv_dtype.
 * Token t is written to slot slots[t] = block_id · block_size + offset_in_block; slot −1 skips the token.
 * KV cache storage (kv_dtype, the same value for the write and every read of one cache):
 *   GUST_DTYPE_F32      x as is (4 bytes; scales ignored);
 *   GUST_DTYPE_BF16     bf16(x), round to nearest even (2 bytes; scales ignored);
 *   GUST_DTYPE_F8_E4M3  e4m3(clamp(x / scale, ±448)) as gust_fp8_quantize, read back as value · scale, where
 *                       scale is k_scale for K and v_scale for V (per-tensor, one pair per layer, > 0).
 * Element offsets are the same for every dtype; only the element size differs. Example: block_size 16,
 * 8 KV heads of 128 dims, slot 37 → elements 37 · 1024 .. 38 · 1024 − 1, bytes × 4, 2 or 1. */
int32_t gust_kv_write(void *k_cache, void *v_cache, const void *k_f32, const void *v_f32, const void *slots_i32,
                      int32_t num_tokens, int32_t num_kv_heads, int32_t head_dim, int32_t num_blocks,
                      int32_t block_size, int32_t kv_dtype, float k_scale, float v_scale);

/* Causal GQA attention over a ragged batch reading K/V from the paged cache (stored as kv_dtype with
 * k_scale / v_scale, see gust_kv_write; scores and softmax in f32 whatever the storage).
 *  q[T, num_heads, head_dim], out[T, num_heads, head_dim];
 *  query_starts[num_seqs + 1]: rows of sequence s are query_starts[s] .. query_starts[s+1]−1;
 *  context_lens[num_seqs]: tokens in the cache for s, including this step's (already written);
 *  block_tables[num_seqs, max_blocks_per_seq]: physical block ids of s in logical order.
 *  Row j of sequence s (0-based within its n_s rows) has position context_lens[s] − n_s + j and
 *  attends to cache positions 0 ..= that position. Query head h reads KV head h / (num_heads / num_kv_heads).
 *  Example: two sequences, one prefilling 3 tokens from scratch, one decoding its 6th token, block_size 4:
 *    query_starts = [0, 3, 4], context_lens = [3, 6], block_tables = [[7, -1], [2, 5]]
 *    row 3 (seq 1) has position 5 and reads slots 2·4+0..3 then 5·4+0..1. */
int32_t gust_attention(void *out_f32, const void *q_f32, const void *k_cache, const void *v_cache,
                       const void *query_starts_i32, const void *context_lens_i32, const void *block_tables_i32,
                       int32_t num_seqs, int32_t num_tokens, int32_t num_heads, int32_t num_kv_heads,
                       int32_t head_dim, int32_t block_size, int32_t max_blocks_per_seq, int32_t num_blocks,
                       float scale, int32_t kv_dtype, float k_scale, float v_scale);

/* out[i] = silu(gate[i]) · up[i] */
int32_t gust_silu_mul(void *out_f32, const void *gate_f32, const void *up_f32, uint64_t n);
/* out[i] = a[i] + b[i] (out may alias a) */
int32_t gust_add(void *out_f32, const void *a_f32, const void *b_f32, uint64_t n);
/* out[t] = index of the largest x[t, :] (first one on ties) */
int32_t gust_argmax(void *out_i32, const void *x_f32, int32_t num_rows, int32_t row_len);
/* Gather rows: out[r, :] = x[rows[r], :] (picks the last token of each sequence before the lm_head). */
int32_t gust_gather_rows(void *out_f32, const void *x_f32, const void *rows_i32, int32_t num_rows, int32_t row_len,
                         int32_t num_src_rows);

/* ---- sampling ------------------------------------------------------------------------------------ */
/* One row's sampling parameters (runtime/sampling/params.ts, resolved; 104 bytes, packed by
 * runtime/sampling/native-sampler.ts). Lists are slices [start, start + count) of gust_sample's shared arrays. */
typedef struct {
  double temperature;        /* 0 = greedy: argmax of the adjusted row, first index on ties */
  double top_p;              /* 1 = off */
  double min_p;              /* 0 = off */
  double presence_penalty;   /* 0 = off; subtracted once from every generated id */
  double frequency_penalty;  /* 0 = off; × times generated */
  double repetition_penalty; /* 1 = off; prompt ∪ generated: positive ÷ r, else × r */
  int32_t top_k;             /* 0 = off */
  uint32_t seed_lo, seed_hi; /* the 64-bit seed's halves (counter-hash.ts splitSeed) */
  uint32_t step;             /* index of the token being generated */
  int32_t logits_row;        /* row of logits this row samples from */
  int32_t vocab_limit;       /* ids ≥ this are never drawn nor reported (a model's padding ids) */
  int32_t bias_start, bias_count;     /* logit bias: bias_ids / bias_values */
  int32_t counts_start, counts_count; /* frequency/presence: count_ids / counts (times generated) */
  int32_t seen_start, seen_count;     /* repetition: seen_ids, distinct ids of prompt ∪ generated */
  int32_t mask_row;          /* row of masks allowed (bit i of word i / 32 set = id i allowed); −1 = all */
  int32_t num_logprobs;      /* −1: none; 0: the token's; k: also the top k (k ≤ max_logprobs) */
} gust_sample_params;

/* Samples num_rows tokens (runtime/sampling/sampler.ts is the spec; the same seed, step and logits give the same
 * token): allowed mask → bias → penalties → temperature → top-k → top-p → min-p → exponential race over the
 * counter hash of (seed, step, id). Only ids and log-probabilities leave the device:
 *   out_tokens[num_rows] i32;
 *   out_logprobs[num_rows, 1 + max_logprobs] f64: raw log p(token), then the top num_logprobs raw log-probs
 *     (NaN where not asked); out_top_ids[num_rows, max_logprobs] i32 (−1 where not asked). Both required.
 * logits[*, vocab] f32; masks[*, (vocab + 31) / 32] u32 (NULL when no row has a mask). Rows run in parallel.
 * Fails naming the row when a draw has no finite logit to draw from. */
int32_t gust_sample(void *out_tokens_i32, void *out_logprobs_f64, void *out_top_ids_i32, const void *logits_f32,
                    int32_t num_logit_rows, int32_t vocab, const void *params, int32_t num_rows,
                    const void *bias_ids_i32, const void *bias_values_f32, const void *count_ids_i32,
                    const void *counts_i32, const void *seen_ids_i32, const void *masks_u32, int32_t num_masks,
                    int32_t max_logprobs);

/* The weights a draw at temperature > 0 uses before truncation: out[r, i] = exp((x[r, i] − max_r) / temperature) by
 * the sampler's own exponential (kernels/sample_exp.h; 0 for NaN, −∞ and below e^−700), f64, and out_totals[r] their
 * sum in the sampler's order. Rows with no finite maximum are all 0, total NaN. For tests: it holds the native
 * exponential and sum (and the CPU's AVX2 twin) to the spec, bit for bit. */
int32_t gust_sample_weights(void *out_f64, void *out_totals_f64, const void *logits_f32, int32_t num_rows,
                            int32_t vocab, double temperature);

/* One proposal of speculative verification (16 bytes): params rows [first_row, first_row + num_drafts] (row i scores
 * the token after drafts[0, i), with their penalties and step = first step + i), its drafts draft_ids[drafts_start,
 * drafts_start + num_drafts) and their probabilities draft_probs[drafts_start + i][vocab]. */
typedef struct {
  int32_t first_row, num_drafts, drafts_start, reserved;
} gust_verify_proposal;

/* Verifies num_proposals draft proposals against their target rows (runtime/eagle/verify.ts verifyDrafts is the
 * spec): a greedy row keeps a draft equal to its argmax; a sampled row accepts draft d with probability
 * min(1, p(d) / q(d)) and on rejection draws from normalise(max(0, p − q)), with the counter-hash uniforms of lanes
 * vocab + 2 (accept) and vocab + 3 (residual) at the row's (seed, step); all drafts accepted → the last row's
 * draw. params and the lists are as gust_sample's (num_logprobs ignored). Only ids leave the device:
 * out_accepted[num_proposals] i32 (drafts kept), out_next[num_proposals] i32 (the token after them).
 * draft_probs[num_drafts, vocab] f64 (read for sampled rows only). Proposals run in parallel. */
int32_t gust_verify_drafts(void *out_accepted_i32, void *out_next_i32, const void *logits_f32, int32_t num_logit_rows,
                           int32_t vocab, const void *params, int32_t num_rows, const void *bias_ids_i32,
                           const void *bias_values_f32, const void *count_ids_i32, const void *counts_i32,
                           const void *seen_ids_i32, const void *masks_u32, int32_t num_masks, const void *proposals,
                           int32_t num_proposals, const void *draft_ids_i32, const void *draft_probs_f64,
                           int32_t num_drafts);

/* ---- vision ops --------------------------------------------------------------------------------- */
/* out[i] = 0.5 · x[i] · (1 + erf(x[i] / √2)), the exact GELU (not the tanh form); out may alias x. */
int32_t gust_gelu(void *out_f32, const void *x_f32, uint64_t n);
/* Scatter rows: out[rows[r], :] = x[r, :] (writes image features into the [IMG] rows of the residual
 * stream). Rows are written in order, so a repeated destination keeps the last source row. */
int32_t gust_scatter_rows(void *out_f32, const void *x_f32, const void *rows_i32, int32_t num_rows, int32_t row_len,
                          int32_t num_dst_rows);
/* Non-causal attention within segments, no KV cache (the vision tower's block-diagonal mask).
 *  q[T, num_heads, head_dim], k/v[T, num_kv_heads, head_dim], out[T, num_heads, head_dim], all contiguous;
 *  segment_starts[num_segments + 1] (cu_seqlens): rows of segment s are segment_starts[s] .. [s+1]−1,
 *  running from 0 to T; a row attends to every row of its own segment (itself included), to no other.
 *  Query head h reads KV head h / (num_heads / num_kv_heads); scores are q·k · scale, softmax in f32.
 *  Example: two images of 6 and 4 patches → segment_starts = [0, 6, 10]; row 7 attends to rows 6..9. */
int32_t gust_segment_attention(void *out_f32, const void *q_f32, const void *k_f32, const void *v_f32,
                               const void *segment_starts_i32, int32_t num_segments, int32_t num_tokens,
                               int32_t num_heads, int32_t num_kv_heads, int32_t head_dim, float scale);

/* ---- one call per step (gust_step) --------------------------------------------------------------------- */
/* A weight as gust_linear / gust_rmsnorm / gust_embed take it (24 bytes). */
typedef struct {
  const void *data;
  int32_t dtype;
  float act_scale, weight_scale;
  int32_t reserved;
} gust_weight;

/* One decoder layer's weights and KV cache (248 bytes). */
typedef struct {
  gust_weight attn_norm, q, k, v, o, mlp_norm, gate, up, down;
  void *k_cache, *v_cache;
  int32_t kv_dtype;
  float k_scale, v_scale;
  int32_t reserved;
} gust_step_layer;

/* gust_sample's arguments for the step's logit rows (96 bytes); the logits are the step's. */
typedef struct {
  void *out_tokens_i32, *out_logprobs_f64, *out_top_ids_i32;
  const void *params, *bias_ids_i32, *bias_values_f32, *count_ids_i32, *counts_i32, *seen_ids_i32, *masks_u32;
  int32_t num_rows, num_masks, max_logprobs, reserved;
} gust_step_sample;

/* One forward step of the Ministral3 decoder (runtime/model/text-model.ts is its per-kernel twin and spec), 392
 * bytes, pointers first. host_* are the batch in host memory (layout of runtime/model/batch.ts), copied into the
 * device index buffers named without the prefix; h .. logits are the workspace (runtime/model/workspace.ts);
 * row_index selects num_rows rows for the final norm and lm_head. Example: decode of 2 sequences → num_tokens 2,
 * num_seqs 2, num_rows 2, host_row_index [0, 1]; logits [2, vocab] come out in `logits`. */
typedef struct {
  const gust_step_layer *layers;
  const void *cos_f32, *sin_f32;
  gust_weight embed, final_norm, lm_head;
  const void *host_ids, *host_positions, *host_slots, *host_query_starts, *host_context_lens, *host_block_tables,
      *host_row_index;
  void *ids, *positions, *slots, *query_starts, *context_lens, *block_tables, *row_index;
  void *h, *normed, *q, *k, *v, *attn, *proj, *gate, *up, *rows, *rows_normed, *logits;
  const gust_step_sample *sample; /* NULL: the step ends at the logits */
  int32_t num_layers, hidden, num_heads, num_kv_heads, head_dim, intermediate, vocab, table_len;
  float rms_eps, attn_scale, query_beta;
  int32_t query_original_max;
  int32_t num_blocks, block_size, num_tokens, num_seqs, num_rows, max_blocks_per_seq;
  int32_t flags; /* GUST_STEP_* bits */
  int32_t reserved;
} gust_step_desc;

/* The step's shapes are a decode bucket's (runtime/model/decode-buckets.ts: every step of these sizes has the same
 * shapes and buffers), so the CUDA library may record it as a graph and replay it (kernels/cuda/step_graph.cu);
 * the sampling, when asked, runs after the replay. The CPU library runs the step as always. */
#define GUST_STEP_GRAPH 1

/* The whole step in one call: uploads the batch, embeds, runs every layer, gathers the logit rows, applies the
 * final norm and lm_head, then (when desc->sample is set) gust_sample over the logits. Each part is the
 * library's own export, so results are bit-identical to calling them one by one. Fails with the inner call's
 * status and message. */
int32_t gust_step(const void *desc);

/* Writes the kernel launches (a CUDA graph's replay counts one) this library queued since the previous call as a
 * u64 and restarts the count: launches per step with and without graphs. The CPU library launches nothing: 0. */
int32_t gust_launch_count(void *out_u64);

/* ---- communication (tensor parallelism: one process per rank) ------------------------------------ */
/* A communicator joins num_ranks processes that each hold one shard of the model. Rank 0 makes an id
 * with gust_comm_unique_id and hands its bytes to the other ranks (command line); every rank then calls
 * gust_comm_init with the same id. Collectives are called by every rank in the same order with the same
 * sizes; they block until all ranks took part. Buffers are device buffers (gust_alloc).
 *  CPU: the ranks meet in POSIX shared memory; all-reduce sums in rank order 0..N-1, so every rank holds
 *       bit-identical results; a wait notices a rank that died and fails naming it.
 *  CUDA: NCCL, loaded at run time with dlopen (GUST_NCCL_LIBRARY overrides "libnccl.so.2"); collectives go
 *       on the library's stream. */
#define GUST_COMM_ID_BYTES 128
int32_t gust_comm_unique_id(void *out_id);          /* writes GUST_COMM_ID_BYTES bytes */
/* Devices ranks can bind to (CUDA: visible GPUs); 0 means no device limit (CPU ranks are processes). */
int32_t gust_comm_device_count(int32_t *out_count);
/* Joins the communicator; fails after timeout_ms (CPU) naming the ranks that never arrived. */
int32_t gust_comm_init(void **out_comm, const void *id, int32_t num_ranks, int32_t rank, int32_t timeout_ms);
int32_t gust_comm_all_reduce_sum(void *comm, void *buffer_f32, uint64_t count); /* in place, f32 */
/* dst[r · num_bytes .. (r+1) · num_bytes) = rank r's src, on every rank. */
int32_t gust_comm_all_gather(void *comm, void *dst, const void *src, uint64_t num_bytes);
int32_t gust_comm_broadcast(void *comm, void *buffer, uint64_t num_bytes, int32_t root);
int32_t gust_comm_barrier(void *comm);
int32_t gust_comm_destroy(void *comm);

#ifdef __cplusplus
}
#endif
#endif
