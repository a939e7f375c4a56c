/* The vision path's ops: exact GELU, row scatter into the residual stream, and attention within segments
 * (the vision tower's block-diagonal mask), which runs on the same kernels as gust_attention. */
#include <math.h>

#include "attention.cuh"

namespace {

__global__ void gelu_kernel(float *out, const float *x, uint64_t n) {
  for (uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (uint64_t)gridDim.x * blockDim.x) {
    const float v = x[i];
    out[i] = 0.5f * v * (1.0f + erff(v * 0.70710678118654752440f)); /* the erf form, not the tanh one */
  }
}

/* A repeated destination must keep the last source row, as the CPU's in-order loop does. Pass 1 finds,
 * per destination, the largest source index aiming at it; pass 2 copies only those rows.
 * Example: rows = [4, 1, 4] → winner[4] = 2, winner[1] = 1; source row 0 is not copied. */
__global__ void scatter_winners_kernel(int32_t *__restrict__ winner, const int32_t *__restrict__ rows, int32_t num_rows,
                                       int32_t num_dst_rows, GustDeviceErrors errs) {
  for (int32_t r = blockIdx.x * blockDim.x + threadIdx.x; r < num_rows; r += gridDim.x * blockDim.x) {
    const int32_t dst = rows[r];
    if (dst < 0 || dst >= num_dst_rows) gust_report(errs, GUST_CHECK_SCATTER_ROW, dst, r, num_dst_rows);
    else atomicMax(winner + dst, r);
  }
}

__global__ void scatter_copy_kernel(float *__restrict__ out, const float *__restrict__ x, const int32_t *__restrict__ rows,
                                    const int32_t *__restrict__ winner, int32_t row_len, int32_t num_dst_rows) {
  const int32_t r = blockIdx.x, dst = rows[r];
  if (dst < 0 || dst >= num_dst_rows || winner[dst] != r) return;
  for (int32_t c = threadIdx.x; c < row_len; c += blockDim.x)
    out[(int64_t)dst * row_len + c] = x[(int64_t)r * row_len + c];
}

} /* namespace */

extern "C" {

int32_t gust_gelu(void *out_f32, const void *x_f32, uint64_t n) {
  GUST_REQUIRE(out_f32 && x_f32, "gust_gelu: NULL pointer");
  GUST_TRY(gust_require_init("gust_gelu"));
  if (n == 0) return GUST_OK;
  gelu_kernel<<<gust_blocks_for(n, 256, (unsigned)g_cuda.sm_count * 16), 256, 0, g_cuda.stream>>>(
      (float *)out_f32, (const float *)x_f32, n);
  return gust_after_launch("gust_gelu");
}

int32_t gust_scatter_rows(void *out_f32, const void *x_f32, const void *rows_i32, int32_t num_rows, int32_t row_len,
                          int32_t num_dst_rows) {
  GUST_REQUIRE(out_f32 && x_f32 && rows_i32, "gust_scatter_rows: NULL pointer");
  GUST_REQUIRE(num_rows >= 0 && row_len > 0, "gust_scatter_rows: bad shape (%d rows of %d)", num_rows, row_len);
  GUST_TRY(gust_require_init("gust_scatter_rows"));
  if (num_rows == 0) return GUST_OK;
  const size_t winners = num_dst_rows > 0 ? (size_t)num_dst_rows : 1; /* ≤ 0 rows: every row is reported */
  void *scratch = NULL;
  GUST_TRY(gust_scratch("gust_scatter_rows", winners * sizeof(int32_t), &scratch));
  int32_t *winner = (int32_t *)scratch;
  GUST_CUDA_TRY("gust_scatter_rows", "cudaMemsetAsync", cudaMemsetAsync(winner, 0xFF, winners * sizeof(int32_t), g_cuda.stream));
  scatter_winners_kernel<<<gust_blocks_for((uint64_t)num_rows, 256), 256, 0, g_cuda.stream>>>(
      winner, (const int32_t *)rows_i32, num_rows, num_dst_rows, g_cuda.errors);
  GUST_TRY(gust_after_launch("gust_scatter_rows"));
  scatter_copy_kernel<<<num_rows, 256, 0, g_cuda.stream>>>((float *)out_f32, (const float *)x_f32,
                                                              (const int32_t *)rows_i32, winner, row_len, num_dst_rows);
  return gust_after_launch("gust_scatter_rows");
}

int32_t gust_segment_attention(void *out_f32, const void *q_f32, const void *k_f32, const void *v_f32,
                               const void *segment_starts_i32, int32_t num_segments, int32_t num_tokens,
                               int32_t num_heads, int32_t num_kv_heads, int32_t head_dim, float scale) {
  GUST_REQUIRE(out_f32 && q_f32 && k_f32 && v_f32 && segment_starts_i32, "gust_segment_attention: NULL pointer");
  GUST_REQUIRE(num_segments > 0 && num_tokens >= 0 && head_dim > 0,
               "gust_segment_attention: bad sizes (%d segments, %d tokens, head_dim %d)", num_segments, num_tokens, head_dim);
  GUST_REQUIRE(num_kv_heads > 0 && num_heads % num_kv_heads == 0,
               "gust_segment_attention: %d query heads are not a multiple of %d KV heads", num_heads, num_kv_heads);
  GUST_REQUIRE(num_heads > 0, "gust_segment_attention: num_heads %d must be positive", num_heads);
  if (head_dim > kMaxHeadDim)
    return gust_fail(GUST_ERR_UNSUPPORTED, "gust_segment_attention: head_dim %d is above the CUDA kernels' limit of %d",
                     head_dim, kMaxHeadDim);
  GUST_TRY(gust_require_init("gust_segment_attention"));
  AttnCall c = {};
  c.shape = {(float *)out_f32, (const float *)q_f32, num_heads, num_kv_heads, num_heads / num_kv_heads, head_dim, scale};
  c.batch = {(const int32_t *)segment_starts_i32, NULL, num_segments, num_tokens};
  c.paged = false;
  c.dense_kv.k = (const float *)k_f32;
  c.dense_kv.v = (const float *)v_f32;
  c.dense_kv.kv_row = num_kv_heads * head_dim;
  c.dense_kv.head_dim = head_dim;
  c.max_context = num_tokens > 0 ? num_tokens : 1;
  c.op = "gust_segment_attention";
  return gust_run_attention(c);
}

} /* extern "C" */
