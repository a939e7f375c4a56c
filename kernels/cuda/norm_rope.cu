/* Row-wise ops of the decoder: embedding lookup, RMSNorm, rotate-half RoPE and the llama-4 query scale. */
#include <math.h>

#include "common.cuh"

namespace {

/* One block per token row; a bad id is reported once and its row left untouched. */
__global__ void embed_kernel(float *__restrict__ out, const void *__restrict__ table, int32_t dtype,
                             const int32_t *__restrict__ ids, int32_t vocab, int32_t dim, GustDeviceErrors errs) {
  const int32_t t = blockIdx.x, id = ids[t];
  if (id < 0 || id >= vocab) {
    if (threadIdx.x == 0) gust_report(errs, GUST_CHECK_EMBED_ID, id, t, vocab);
    return;
  }
  for (int32_t c = threadIdx.x; c < dim; c += blockDim.x)
    out[(int64_t)t * dim + c] = gust_load_weight(table, dtype, (int64_t)id * dim + c);
}

/* One block per row. The sum of squares is accumulated in double, as the CPU backend does: a 12288-wide
 * row of f32 squares summed in f32 loses bits, and on the GPU double adds are free next to the memory
 * traffic. The output rounds exactly like the CPU's: weight · (float)(x / rms) with a double quotient. */
__global__ void rmsnorm_kernel(float *__restrict__ y, const float *__restrict__ x, const void *__restrict__ weight,
                               int32_t dtype, int32_t dim, float eps) {
  const float *xr = x + (int64_t)blockIdx.x * dim;
  double sum = 0.0;
  for (int32_t c = threadIdx.x; c < dim; c += blockDim.x) sum += (double)xr[c] * xr[c];
  for (int off = 16; off > 0; off >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, off);
  __shared__ double warp_sums[32];
  __shared__ double rms;
  if ((threadIdx.x & 31) == 0) warp_sums[threadIdx.x >> 5] = sum;
  __syncthreads();
  if (threadIdx.x == 0) {
    double total = 0.0;
    for (int w = 0; w < (int)(blockDim.x >> 5); w++) total += warp_sums[w];
    rms = sqrt(total / dim + (double)eps);
  }
  __syncthreads();
  const double r = rms;
  float *yr = y + (int64_t)blockIdx.x * dim;
  for (int32_t c = threadIdx.x; c < dim; c += blockDim.x) yr[c] = gust_load_weight(weight, dtype, c) * (float)(xr[c] / r);
}

/* Thread per (token, head, pair k < D/2). Example: head_dim 128 (64 pairs), 8 heads: item 1000 is token
 * 1000 / (8 · 64) = 1, head (1000 / 64) % 8 = 7, pair 1000 % 64 = 40, so it rotates elements 40 and 104
 * of that head with cos/sin[positions[1], 40]. */
__global__ void rope_kernel(float *__restrict__ x, const int32_t *__restrict__ pos, const float *__restrict__ cos_t,
                            const float *__restrict__ sin_t, int32_t T, int32_t H, int32_t D, int32_t table_len,
                            GustDeviceErrors errs) {
  const int32_t half = D / 2;
  const int64_t total = (int64_t)T * H * half;
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x) {
    const int32_t t = (int32_t)(i / ((int64_t)H * half)), h = (int32_t)((i / half) % H), k = (int32_t)(i % half);
    const int32_t p = pos[t];
    if (p < 0 || p >= table_len) {
      if (h == 0 && k == 0) gust_report(errs, GUST_CHECK_ROPE_POSITION, p, t, table_len);
      continue;
    }
    float *v = x + ((int64_t)t * H + h) * D;
    const float c = cos_t[(int64_t)p * half + k], s = sin_t[(int64_t)p * half + k];
    const float a = v[k], b = v[k + half];
    v[k] = a * c - b * s;
    v[k + half] = b * c + a * s;
  }
}

__global__ void query_scale_kernel(float *__restrict__ q, const int32_t *__restrict__ pos, int32_t T, int32_t width,
                                   float beta, int32_t original_max, GustDeviceErrors errs) {
  const int64_t total = (int64_t)T * width;
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x) {
    const int32_t t = (int32_t)(i / width), p = pos[t];
    if (p < 0) {
      if (i % width == 0) gust_report(errs, GUST_CHECK_QSCALE_POSITION, p, t);
      continue;
    }
    q[i] *= 1.0f + beta * logf(1.0f + (float)(p / original_max));
  }
}

} /* namespace */

extern "C" {

int32_t gust_embed(void *out_f32, const void *table, int32_t table_dtype, const void *ids_i32, int32_t num_tokens,
                   int32_t vocab, int32_t dim) {
  GUST_REQUIRE(out_f32 && table && ids_i32, "gust_embed: NULL pointer");
  GUST_REQUIRE(gust_is_float_dtype(table_dtype), "gust_embed: table dtype %d is not f32, f16 or bf16", table_dtype);
  GUST_TRY(gust_require_init("gust_embed"));
  if (num_tokens <= 0 || dim <= 0) return GUST_OK;
  embed_kernel<<<num_tokens, 256, 0, g_cuda.stream>>>((float *)out_f32, table, table_dtype, (const int32_t *)ids_i32,
                                                         vocab, dim, g_cuda.errors);
  return gust_after_launch("gust_embed");
}

int32_t gust_rmsnorm(void *y_f32, const void *x_f32, const void *weight, int32_t weight_dtype, int32_t num_tokens,
                     int32_t dim, float eps) {
  GUST_REQUIRE(y_f32 && x_f32 && weight, "gust_rmsnorm: NULL pointer");
  GUST_REQUIRE(gust_is_float_dtype(weight_dtype), "gust_rmsnorm: weight dtype %d is not f32, f16 or bf16", weight_dtype);
  GUST_REQUIRE(dim > 0 && num_tokens >= 0, "gust_rmsnorm: bad shape (%d, %d)", num_tokens, dim);
  GUST_TRY(gust_require_init("gust_rmsnorm"));
  if (num_tokens == 0) return GUST_OK;
  const int threads = dim >= 4096 ? 1024 : dim >= 1024 ? 256 : 128;
  rmsnorm_kernel<<<num_tokens, threads, 0, g_cuda.stream>>>((float *)y_f32, (const float *)x_f32, weight, weight_dtype,
                                                               dim, eps);
  return gust_after_launch("gust_rmsnorm");
}

int32_t gust_rope(void *x_f32, const void *positions_i32, const void *cos_f32, const void *sin_f32, int32_t num_tokens,
                  int32_t num_heads, int32_t head_dim, int32_t table_len) {
  GUST_REQUIRE(x_f32 && positions_i32 && cos_f32 && sin_f32, "gust_rope: NULL pointer");
  GUST_REQUIRE(head_dim > 0 && head_dim % 2 == 0, "gust_rope: head_dim %d must be even", head_dim);
  GUST_TRY(gust_require_init("gust_rope"));
  if (num_tokens <= 0 || num_heads <= 0) return GUST_OK;
  const uint64_t total = (uint64_t)num_tokens * num_heads * (head_dim / 2);
  rope_kernel<<<gust_blocks_for(total, 256), 256, 0, g_cuda.stream>>>(
      (float *)x_f32, (const int32_t *)positions_i32, (const float *)cos_f32, (const float *)sin_f32, num_tokens,
      num_heads, head_dim, table_len, g_cuda.errors);
  return gust_after_launch("gust_rope");
}

int32_t gust_query_scale(void *q_f32, const void *positions_i32, int32_t num_tokens, int32_t width, float beta,
                         int32_t original_max) {
  GUST_REQUIRE(q_f32 && positions_i32, "gust_query_scale: NULL pointer");
  GUST_REQUIRE(original_max > 0, "gust_query_scale: original_max %d must be positive", original_max);
  if (beta == 0.0f) return GUST_OK;
  GUST_TRY(gust_require_init("gust_query_scale"));
  if (num_tokens <= 0 || width <= 0) return GUST_OK;
  query_scale_kernel<<<gust_blocks_for((uint64_t)num_tokens * width, 256), 256, 0, g_cuda.stream>>>(
      (float *)q_f32, (const int32_t *)positions_i32, num_tokens, width, beta, original_max, g_cuda.errors);
  return gust_after_launch("gust_query_scale");
}

} /* extern "C" */
