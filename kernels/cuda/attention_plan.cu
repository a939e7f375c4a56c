/* gust_attention: host checks, then one planning kernel that validates the batch on the GPU and builds
 * the work lists, then the decode (flash-decoding) and prefill (FlashAttention-style) kernels. The same
 * driver serves gust_segment_attention (vision.cu) with contiguous K/V and no causal mask. */
#include "attention.cuh"

namespace {

constexpr int kPlanThreads = 1024;

/* Inclusive scan over the block; `total` gets the sum of all threads' values. */
__device__ long long block_inclusive_scan(long long v, long long *warp_totals, long long &total) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  for (int off = 1; off < 32; off <<= 1) {
    long long y = __shfl_up_sync(0xffffffffu, v, off);
    if (lane >= off) v += y;
  }
  if (lane == 31) warp_totals[warp] = v;
  __syncthreads();
  if (warp == 0) {
    long long w = lane < warps ? warp_totals[lane] : 0;
    for (int off = 1; off < 32; off <<= 1) {
      long long y = __shfl_up_sync(0xffffffffu, w, off);
      if (lane >= off) w += y;
    }
    warp_totals[lane] = w;
  }
  __syncthreads();
  if (warp > 0) v += warp_totals[warp - 1];
  total = warp_totals[warps - 1];
  __syncthreads(); /* warp_totals is reused by the next round */
  return v;
}

/* One block walks the sequences 1024 at a time. Each thread validates its sequence exactly as the CPU
 * backend's check_batch does, counts its decode rows and prefill tiles, and an exclusive scan of
 * (decode_rows << 32 | tiles) gives both list offsets at once.
 * Example, G = 12, use_prefill: sequences with 1, 9 and 2 rows → counts (1, 0), (0, ceil(9·12 / 64) = 2),
 * (2, 0) → exclusive offsets (0, 0), (1, 0), (1, 2): decode items [(r0, 0), (r2, 2), (r2 + 1, 2)] and
 * tiles [(1, 0), (1, 64)]. */
template <bool PAGED>
__global__ void __launch_bounds__(kPlanThreads) plan_kernel(AttnBatch b, AttnWork w, int32_t max_blocks,
                                                            int32_t block_size, int32_t group, bool use_prefill,
                                                            GustDeviceErrors errs) {
  __shared__ long long warp_totals[32];
  __shared__ long long carry;
  __shared__ int bad;
  if (threadIdx.x == 0) {
    carry = 0;
    bad = 0;
    const int32_t first = b.starts[0], last = b.starts[b.num_seqs];
    if (first != 0 || last != b.num_tokens) {
      gust_report(errs, PAGED ? GUST_CHECK_ATTN_STARTS : GUST_CHECK_SEG_STARTS, b.num_tokens, first, last);
      bad = 1;
    }
  }
  __syncthreads();
  for (int32_t base = 0; base < b.num_seqs; base += kPlanThreads) {
    const int32_t s = base + (int32_t)threadIdx.x;
    long long packed = 0;
    int32_t r0 = 0, n = 0;
    if (s < b.num_seqs) {
      r0 = b.starts[s];
      const int32_t r1 = b.starts[s + 1];
      n = r1 - r0;
      if (n < 0) {
        if (PAGED) gust_report(errs, GUST_CHECK_ATTN_DECREASES, s, 0);
        else gust_report(errs, GUST_CHECK_SEG_DECREASES, s, r0, r1);
        atomicOr(&bad, 1);
        n = 0;
      }
      if (PAGED) {
        const int32_t ctx = b.kv_lens[s];
        if (ctx < n) {
          gust_report(errs, GUST_CHECK_ATTN_CONTEXT, s, n, ctx);
          atomicOr(&bad, 1);
        } else {
          const int64_t needed = ((int64_t)ctx + block_size - 1) / block_size;
          if (needed > max_blocks) {
            gust_report(errs, GUST_CHECK_ATTN_TABLE, s, needed, max_blocks);
            atomicOr(&bad, 1);
          }
        }
      }
      const bool prefill = use_prefill && n > kDecodeMaxRows;
      const long long rows = prefill ? 0 : n;
      const long long tiles = prefill ? ((long long)n * group + kPrefillQueries - 1) / kPrefillQueries : 0;
      packed = (rows << 32) | tiles;
    }
    long long total;
    const long long inclusive = block_inclusive_scan(packed, warp_totals, total);
    const long long offset = carry + inclusive - packed;
    __syncthreads();
    if (threadIdx.x == 0) carry += total;
    if (s < b.num_seqs) {
      const long long dec_at = offset >> 32, tile_at = offset & 0xffffffffLL;
      const long long rows = packed >> 32, tiles = packed & 0xffffffffLL;
      for (long long j = 0; j < rows && dec_at + j < w.decode_cap; j++)
        w.decode_items[dec_at + j] = make_int2(r0 + (int32_t)j, s);
      for (long long i = 0; i < tiles && tile_at + i < w.tile_cap; i++)
        w.tiles[tile_at + i] = make_int2(s, (int32_t)(i * kPrefillQueries));
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    const long long dec = carry >> 32, tiles = carry & 0xffffffffLL;
    w.counts[0] = bad ? 0 : (int32_t)(dec < w.decode_cap ? dec : w.decode_cap);
    w.counts[1] = bad ? 0 : (int32_t)(tiles < w.tile_cap ? tiles : w.tile_cap);
  }
}

} /* namespace */

int32_t gust_attention_plan(const AttnBatch &batch, const AttnWork &work, bool paged, int32_t max_blocks,
                            int32_t block_size, int32_t group, bool use_prefill, const char *op) {
  if (paged)
    plan_kernel<true><<<1, kPlanThreads, 0, g_cuda.stream>>>(batch, work, max_blocks, block_size, group, use_prefill, g_cuda.errors);
  else
    plan_kernel<false><<<1, kPlanThreads, 0, g_cuda.stream>>>(batch, work, max_blocks, block_size, group, use_prefill, g_cuda.errors);
  return gust_after_launch(op);
}

int32_t gust_run_attention(const AttnCall &c) {
  const AttnShape &sh = c.shape;
  const int64_t T = c.batch.num_tokens, S = c.batch.num_seqs, G = sh.group, D = sh.head_dim;
  const bool naive = g_cuda.naive_kernels;
  const bool use_prefill = !naive && D <= 128 && T > kDecodeMaxRows;
  const int64_t decode_cap = use_prefill ? (T < kDecodeMaxRows * S ? T : kDecodeMaxRows * S) : T;
  const int64_t tile_cap = use_prefill ? (T * G + kPrefillQueries - 1) / kPrefillQueries + S : 0;
  if (decode_cap > INT32_MAX || tile_cap > INT32_MAX)
    return gust_fail(GUST_ERR_UNSUPPORTED, "%s: %lld rows are more than the CUDA kernels' work lists hold", c.op, (long long)T);

  /* Split the context until ~4 blocks per SM exist, in pieces of at least 32 keys (one warp's share of a
   * sub-chunk). Examples, H100 (132 SMs), 8 KV heads: one decode row at 64k context: 8 blocks → 66 splits of
   * ~1k keys each; at 1k context: 32 splits of 32 keys (256 blocks; with 128-key pieces it was 8 splits, 64
   * blocks, and the layer's attention took 108 µs on an H100 instead of the KV read's 3 µs); at batch 128
   * the 1024 row-head blocks already fill the GPU and one split per row is used. */
  int64_t splits = 1;
  const int64_t head_chunks = (G + 15) / 16;
  if (!naive && decode_cap > 0) {
    const int64_t blocks = decode_cap * sh.num_kv_heads * head_chunks;
    const int64_t want = ((int64_t)g_cuda.sm_count * 4 + blocks - 1) / blocks;
    int64_t most = ((int64_t)c.max_context + 31) / 32;
    if (most > 256) most = 256;
    splits = want < most ? want : most;
    if (splits < 1) splits = 1;
  }

  GustCarve carve;
  const size_t counts_at = carve.take(2 * sizeof(int32_t));
  const size_t items_at = carve.take((size_t)decode_cap * sizeof(int2));
  const size_t tiles_at = carve.take((size_t)tile_cap * sizeof(int2));
  const size_t part_n = splits > 1 ? (size_t)decode_cap * sh.num_heads * splits : 0;
  const size_t m_at = carve.take(part_n * sizeof(float)), l_at = carve.take(part_n * sizeof(float));
  const size_t acc_at = carve.take(part_n * D * sizeof(float));
  void *scratch = NULL;
  GUST_TRY(gust_scratch(c.op, carve.offset, &scratch));
  uint8_t *base = (uint8_t *)scratch;
  AttnWork work;
  work.counts = (int32_t *)(base + counts_at);
  work.decode_items = (int2 *)(base + items_at);
  work.tiles = (int2 *)(base + tiles_at);
  work.decode_cap = (int32_t)decode_cap;
  work.tile_cap = (int32_t)tile_cap;
  AttnPartials parts;
  parts.m = (float *)(base + m_at);
  parts.l = (float *)(base + l_at);
  parts.acc = (float *)(base + acc_at);
  parts.splits = (int32_t)splits;

  const int32_t max_blocks = c.paged ? c.paged_kv.max_blocks : 0, block_size = c.paged ? c.paged_kv.block_size : 1;
  GUST_TRY(gust_attention_plan(c.batch, work, c.paged, max_blocks, block_size, (int32_t)G, use_prefill, c.op));
  if (naive)
    return c.paged ? gust_attention_naive_paged(sh, c.batch, work, c.paged_kv, c.op)
                   : gust_attention_naive_dense(sh, c.batch, work, c.dense_kv, c.op);
  if (decode_cap > 0)
    GUST_TRY(c.paged ? gust_attention_decode_paged(sh, c.batch, work, parts, c.paged_kv, c.op)
                     : gust_attention_decode_dense(sh, c.batch, work, parts, c.dense_kv, c.op));
  if (tile_cap > 0 && c.paged && gust_flash_attention_requested())
    return gust_attention_flash_paged(sh, c.batch, work, c.paged_kv, c.op);
  if (tile_cap > 0)
    GUST_TRY(c.paged ? gust_attention_prefill_paged(sh, c.batch, work, c.paged_kv, c.op)
                     : gust_attention_prefill_dense(sh, c.batch, work, c.dense_kv, c.op));
  return GUST_OK;
}

extern "C" int32_t gust_attention(void *out_f32, const void *q_f32, const void *k_cache, const void *v_cache,
                                  const void *query_starts_i32, const void *context_lens_i32,
                                  const void *block_tables_i32, int32_t num_seqs, int32_t num_tokens,
                                  int32_t num_heads, int32_t num_kv_heads, int32_t head_dim, int32_t block_size,
                                  int32_t max_blocks_per_seq, int32_t num_blocks, float scale, int32_t kv_dtype,
                                  float k_scale, float v_scale) {
  GUST_REQUIRE(out_f32 && q_f32 && k_cache && v_cache && query_starts_i32 && context_lens_i32 && block_tables_i32,
               "gust_attention: NULL pointer");
  GUST_REQUIRE(num_kv_heads > 0 && num_heads % num_kv_heads == 0,
               "gust_attention: %d query heads are not a multiple of %d KV heads", num_heads, num_kv_heads);
  GUST_REQUIRE(block_size > 0 && head_dim > 0 && num_seqs > 0, "gust_attention: bad sizes");
  GUST_REQUIRE(num_tokens >= 0 && num_heads > 0 && max_blocks_per_seq >= 0 && num_blocks >= 0,
               "gust_attention: bad sizes (tokens %d, heads %d, max blocks %d, blocks %d)", num_tokens, num_heads,
               max_blocks_per_seq, num_blocks);
  GUST_TRY(gust_check_kv_format("gust_attention", kv_dtype, k_scale, v_scale));
  if (head_dim > kMaxHeadDim)
    return gust_fail(GUST_ERR_UNSUPPORTED, "gust_attention: head_dim %d is above the CUDA kernels' limit of %d; use --backend cpu",
                     head_dim, kMaxHeadDim);
  GUST_TRY(gust_require_init("gust_attention"));
  AttnCall c = {};
  c.shape = {(float *)out_f32, (const float *)q_f32, num_heads, num_kv_heads, num_heads / num_kv_heads, head_dim, scale};
  c.batch = {(const int32_t *)query_starts_i32, (const int32_t *)context_lens_i32, num_seqs, num_tokens};
  c.paged = true;
  c.paged_kv.k = k_cache;
  c.paged_kv.v = v_cache;
  c.paged_kv.dtype = kv_dtype;
  c.paged_kv.k_scale = k_scale;
  c.paged_kv.v_scale = v_scale;
  c.paged_kv.tables = (const int32_t *)block_tables_i32;
  c.paged_kv.max_blocks = max_blocks_per_seq;
  c.paged_kv.block_size = block_size;
  c.paged_kv.num_blocks = num_blocks;
  c.paged_kv.kv_row = num_kv_heads * head_dim;
  c.paged_kv.head_dim = head_dim;
  c.paged_kv.errs = g_cuda.errors;
  const int64_t most = (int64_t)max_blocks_per_seq * block_size;
  c.max_context = most > INT32_MAX ? INT32_MAX : (int32_t)most;
  c.op = "gust_attention";
  return gust_run_attention(c);
}
