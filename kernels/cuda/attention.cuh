/* Shared pieces of the attention kernels: where K/V rows live (paged cache or contiguous rows), how a
 * ragged batch is described, and the work lists the planning kernel builds for the compute kernels.
 *
 * Both ABI entry points reduce to one shape of problem: sequences s with query rows starts[s] ..
 * starts[s+1]−1 (n_s rows), a key/value source per sequence of kv_len_s rows, and per query row j a number
 * of visible keys: causal (gust_attention) row j sees keys 0 ..= kv_len − n + j, i.e. kv_len − n + j + 1 of
 * them; non-causal (gust_segment_attention) every row sees all n keys of its own segment.
 *
 * Work split. Sequences with at most kDecodeMaxRows rows (decode steps, short EAGLE verifications) run one
 * block per (row, KV head, context split): flash-decoding, the KV head's query heads sharing every K/V
 * read, and a second kernel merging the splits. Longer sequences run FlashAttention-style tiles of 64
 * (row, head-of-group) queries against 32-key K/V tiles in shared memory, with an online softmax, so no
 * T × T matrix exists anywhere. Which sequence goes where is decided on the GPU by the planning kernel,
 * because the row counts live in device memory; the host only sizes grids from upper bounds and blocks
 * beyond the real work return at once. */
#ifndef GUST_CUDA_ATTENTION_CUH
#define GUST_CUDA_ATTENTION_CUH

#include "common.cuh"

constexpr int kDecodeMaxRows = 4;  /* sequences with more rows than this use the tiled prefill kernel */
constexpr int kPrefillQueries = 64; /* (row, head) queries per prefill tile */
constexpr int kMaxHeadDim = 256;

/* Paged cache [num_blocks, block_size, num_kv_heads, head_dim]: key p of sequence s sits in physical block
 * tables[s, p / block_size] at offset p % block_size. Returns the float offset of that key's row for KV
 * head g, or −1 (after reporting) when the table holds an id outside [0, num_blocks).
 * Example: block_size 4, tables row [7, 2], p = 5, kv_row = 16, D = 8, g = 1 → block 2, slot 2·4 + 1 = 9,
 * offset 9·16 + 1·8 = 152. */
struct PagedKv {
  const float *k, *v;
  const int32_t *tables;
  int32_t max_blocks, block_size, num_blocks, kv_row, head_dim;
  GustDeviceErrors errs;
  static constexpr bool causal = true;
  __device__ int64_t row(int32_t s, int32_t r0, int32_t p, int32_t g) const {
    (void)r0;
    const int32_t logical = p / block_size;
    const int32_t id = tables[(int64_t)s * max_blocks + logical];
    if (id < 0 || id >= num_blocks) {
      gust_report(errs, GUST_CHECK_ATTN_BLOCK_ID, s, logical, id, num_blocks);
      return -1;
    }
    return ((int64_t)id * block_size + p % block_size) * kv_row + (int64_t)g * head_dim;
  }
};

/* Contiguous K/V rows [T, num_kv_heads, head_dim] (the vision tower): key p of the segment starting at
 * row r0 is row r0 + p. */
struct DenseKv {
  const float *k, *v;
  int32_t kv_row, head_dim;
  static constexpr bool causal = false;
  __device__ int64_t row(int32_t s, int32_t r0, int32_t p, int32_t g) const {
    (void)s;
    return (int64_t)(r0 + p) * kv_row + (int64_t)g * head_dim;
  }
};

/* The batch: sequence s has rows starts[s] .. starts[s+1]−1 and kv_lens[s] keys (causal) or as many keys
 * as rows (segments: kv_lens is NULL). */
struct AttnBatch {
  const int32_t *starts, *kv_lens;
  int32_t num_seqs, num_tokens;
};

/* Work lists built on the GPU by the planning kernel (attention_plan.cu). counts[0] decode items,
 * counts[1] prefill tiles; both 0 when the batch description is invalid, so nothing is computed. */
struct AttnWork {
  int32_t *counts;
  int2 *decode_items; /* (row, sequence) */
  int2 *tiles;        /* (sequence, first flattened query f0 = row_in_seq · G + head_in_group) */
  int32_t decode_cap, tile_cap;
};

struct AttnShape {
  float *out;
  const float *q;
  int32_t num_heads, num_kv_heads, group, head_dim;
  float scale;
};

/* Split-K (flash-decoding) partial results, [item][head][split] (+ [head_dim] for acc). */
struct AttnPartials {
  float *m, *l, *acc;
  int32_t splits;
};

/* Keys visible to row j (0-based) of a sequence with n rows and kv_len keys. */
__device__ inline int32_t attn_visible_keys(bool causal, int32_t kv_len, int32_t n, int32_t j) {
  return causal ? kv_len - n + j + 1 : kv_len;
}

int32_t gust_attention_plan(const AttnBatch &batch, const AttnWork &work, bool paged, int32_t max_blocks,
                            int32_t block_size, int32_t group, bool use_prefill, const char *op);
int32_t gust_attention_decode_paged(const AttnShape &shape, const AttnBatch &batch, const AttnWork &work,
                                    const AttnPartials &parts, const PagedKv &kv, const char *op);
int32_t gust_attention_decode_dense(const AttnShape &shape, const AttnBatch &batch, const AttnWork &work,
                                    const AttnPartials &parts, const DenseKv &kv, const char *op);
int32_t gust_attention_prefill_paged(const AttnShape &shape, const AttnBatch &batch, const AttnWork &work,
                                     const PagedKv &kv, const char *op);
int32_t gust_attention_prefill_dense(const AttnShape &shape, const AttnBatch &batch, const AttnWork &work,
                                     const DenseKv &kv, const char *op);
int32_t gust_attention_naive_paged(const AttnShape &shape, const AttnBatch &batch, const AttnWork &work,
                                   const PagedKv &kv, const char *op);
int32_t gust_attention_naive_dense(const AttnShape &shape, const AttnBatch &batch, const AttnWork &work,
                                   const DenseKv &kv, const char *op);

/* Everything one attention call needs: validates, plans, and runs the kernels (attention_plan.cu). */
struct AttnCall {
  AttnShape shape;
  AttnBatch batch;
  bool paged;
  PagedKv paged_kv;
  DenseKv dense_kv;
  int32_t max_context; /* upper bound on keys per row, for sizing splits */
  const char *op;
};
int32_t gust_run_attention(const AttnCall &call);

#endif
