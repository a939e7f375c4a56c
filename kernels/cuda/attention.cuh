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

/* KV element formats (gust.h, "KV cache storage"): loads of one or four consecutive elements as f32.
 * Offsets are in elements; four-element loads need an offset that is a multiple of 4 (head_dim % 4 == 0),
 * which makes them 16-, 8- or 4-byte aligned. The FP8 value · scale is the CPU's table value · scale. */
struct KvF32 {
  using T = float;
  __device__ static float one(const T *p, int64_t i, float) { return __ldg(p + i); }
  __device__ static float4 four(const T *p, int64_t i, float) { return __ldg((const float4 *)(p + i)); }
};
struct KvBf16 {
  using T = uint16_t;
  __device__ static float one(const T *p, int64_t i, float) { return gust_bf16_to_f32(__ldg(p + i)); }
  /* little-endian: element i is the low half of u.x, so it is u.x << 16 and element i + 1 is u.x's high half */
  __device__ static float4 four(const T *p, int64_t i, float) {
    const uint2 u = __ldg((const uint2 *)(p + i));
    return make_float4(__uint_as_float(u.x << 16), __uint_as_float(u.x & 0xFFFF0000u), __uint_as_float(u.y << 16),
                       __uint_as_float(u.y & 0xFFFF0000u));
  }
};
struct KvE4m3 {
  using T = uint8_t;
  __device__ static float one(const T *p, int64_t i, float s) { return gust_e4m3_value(__ldg(p + i)) * s; }
  __device__ static float4 four(const T *p, int64_t i, float s) {
    const uint32_t u = __ldg((const unsigned int *)(p + i));
    return make_float4(gust_e4m3_value(u & 0xFF) * s, gust_e4m3_value((u >> 8) & 0xFF) * s,
                       gust_e4m3_value((u >> 16) & 0xFF) * s, gust_e4m3_value(u >> 24) * s);
  }
};

/* Paged cache [num_blocks, block_size, num_kv_heads, head_dim]: key p of sequence s sits in physical block
 * tables[s, p / block_size] at offset p % block_size. Returns the element offset of that key's row for KV
 * head g, or −1 (after reporting) when the table holds an id outside [0, num_blocks).
 * Example: block_size 4, tables row [7, 2], p = 5, kv_row = 16, D = 8, g = 1 → block 2, slot 2·4 + 1 = 9,
 * offset 9·16 + 1·8 = 152. The description is untyped; kernels get PagedKvOf<format>. */
struct PagedKv {
  const void *k, *v;
  int32_t dtype; /* GUST_DTYPE_F32, _BF16 or _F8_E4M3, validated on the host */
  float k_scale, v_scale;
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

template <class Format>
struct PagedKvOf : PagedKv {
  using T = typename Format::T;
  __device__ float kx(int64_t i) const { return Format::one((const T *)k, i, k_scale); }
  __device__ float vx(int64_t i) const { return Format::one((const T *)v, i, v_scale); }
  __device__ float4 k4(int64_t i) const { return Format::four((const T *)k, i, k_scale); }
  __device__ float4 v4(int64_t i) const { return Format::four((const T *)v, i, v_scale); }
};

/* Runs launch(typed accessor) for the cache's storage format. */
template <class Launch>
int32_t gust_with_kv_format(const PagedKv &kv, Launch launch) {
  switch (kv.dtype) {
    case GUST_DTYPE_BF16: return launch(PagedKvOf<KvBf16>{kv});
    case GUST_DTYPE_F8_E4M3: return launch(PagedKvOf<KvE4m3>{kv});
    default: return launch(PagedKvOf<KvF32>{kv});
  }
}

/* Contiguous K/V rows [T, num_kv_heads, head_dim] f32 (the vision tower): key p of the segment starting at
 * row r0 is row r0 + p. */
struct DenseKv {
  const float *k, *v;
  int32_t kv_row, head_dim;
  static constexpr bool causal = false;
  __device__ int64_t row(int32_t s, int32_t r0, int32_t p, int32_t g) const {
    (void)s;
    return (int64_t)(r0 + p) * kv_row + (int64_t)g * head_dim;
  }
  __device__ float kx(int64_t i) const { return __ldg(k + i); }
  __device__ float vx(int64_t i) const { return __ldg(v + i); }
  __device__ float4 k4(int64_t i) const { return __ldg((const float4 *)(k + i)); }
  __device__ float4 v4(int64_t i) const { return __ldg((const float4 *)(v + i)); }
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
/* attention_flash.cu: bf16 tensor-core prefill, paged caches only, used where GUST_CUDA_ATTENTION=flash */
bool gust_flash_attention_requested(void);
int32_t gust_attention_flash_paged(const AttnShape &shape, const AttnBatch &batch, const AttnWork &work,
                                   const PagedKv &kv, const char *op);
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
