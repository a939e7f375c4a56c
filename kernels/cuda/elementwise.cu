/* Element-wise and row ops: SwiGLU gate, residual add, argmax and row gather. */
#include <math.h>

#include "common.cuh"

namespace {

/* Streaming element-wise kernels: 16-byte accesses for the body (buffers are 64-byte aligned), scalars
 * for the last n % 4 elements. out may alias an input: each element is read before it is written. */
__global__ void silu_mul_kernel(float *out, const float *gate, const float *up, uint64_t n) {
  const uint64_t n4 = n / 4, stride = (uint64_t)gridDim.x * blockDim.x;
  for (uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n4; i += stride) {
    const float4 g = ((const float4 *)gate)[i], u = ((const float4 *)up)[i];
    ((float4 *)out)[i] = make_float4((g.x / (1.0f + expf(-g.x))) * u.x, (g.y / (1.0f + expf(-g.y))) * u.y,
                                     (g.z / (1.0f + expf(-g.z))) * u.z, (g.w / (1.0f + expf(-g.w))) * u.w);
  }
  if (blockIdx.x == 0 && threadIdx.x < n % 4) {
    const uint64_t i = n4 * 4 + threadIdx.x;
    out[i] = (gate[i] / (1.0f + expf(-gate[i]))) * up[i];
  }
}

__global__ void add_kernel(float *out, const float *a, const float *b, uint64_t n) {
  const uint64_t n4 = n / 4, stride = (uint64_t)gridDim.x * blockDim.x;
  for (uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n4; i += stride) {
    const float4 x = ((const float4 *)a)[i], y = ((const float4 *)b)[i];
    ((float4 *)out)[i] = make_float4(x.x + y.x, x.y + y.y, x.z + y.z, x.w + y.w);
  }
  if (blockIdx.x == 0 && threadIdx.x < n % 4) {
    const uint64_t i = n4 * 4 + threadIdx.x;
    out[i] = a[i] + b[i];
  }
}

/* The CPU's sequential rule, in parallel: the largest value, the first index on ties, NaN never wins
 * (comparisons with NaN are false) except that a NaN in column 0 makes the answer 0, since the CPU's
 * running best then never changes. Candidates combine by (larger value, then smaller index). */
__device__ inline void better(float &v, int32_t &i, float ov, int32_t oi) {
  if (oi == INT32_MAX) return;
  if (i == INT32_MAX || ov > v || (ov == v && oi < i)) {
    v = ov;
    i = oi;
  }
}

__global__ void argmax_kernel(int32_t *__restrict__ out, const float *__restrict__ x, int32_t row_len) {
  const float *row = x + (int64_t)blockIdx.x * row_len;
  float v = -INFINITY;
  int32_t idx = INT32_MAX;
  for (int32_t c = threadIdx.x; c < row_len; c += blockDim.x) {
    const float e = row[c];
    if (!isnan(e) && (idx == INT32_MAX || e > v)) {
      v = e;
      idx = c;
    }
  }
  for (int off = 16; off > 0; off >>= 1) {
    const float ov = __shfl_xor_sync(0xffffffffu, v, off);
    const int32_t oi = __shfl_xor_sync(0xffffffffu, idx, off);
    better(v, idx, ov, oi);
  }
  __shared__ float vs[32];
  __shared__ int32_t is[32];
  if ((threadIdx.x & 31) == 0) {
    vs[threadIdx.x >> 5] = v;
    is[threadIdx.x >> 5] = idx;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int w = 1; w < (int)(blockDim.x >> 5); w++) better(v, idx, vs[w], is[w]);
    out[blockIdx.x] = (isnan(row[0]) || idx == INT32_MAX) ? 0 : idx;
  }
}

/* One block per output row: out[r, :] = x[rows[r], :]. */
__global__ void gather_rows_kernel(float *__restrict__ out, const float *__restrict__ x, const int32_t *__restrict__ rows,
                                   int32_t row_len, int32_t num_src_rows, GustDeviceErrors errs) {
  const int32_t r = blockIdx.x, src = rows[r];
  if (src < 0 || src >= num_src_rows) {
    if (threadIdx.x == 0) gust_report(errs, GUST_CHECK_GATHER_ROW, src, num_src_rows);
    return;
  }
  for (int32_t c = threadIdx.x; c < row_len; c += blockDim.x)
    out[(int64_t)r * row_len + c] = x[(int64_t)src * row_len + c];
}

unsigned stream_blocks(uint64_t n) { return gust_blocks_for(n / 4 + 1, 256, (unsigned)g_cuda.sm_count * 16); }

} /* namespace */

extern "C" {

int32_t gust_silu_mul(void *out_f32, const void *gate_f32, const void *up_f32, uint64_t n) {
  GUST_REQUIRE(out_f32 && gate_f32 && up_f32, "gust_silu_mul: NULL pointer");
  GUST_TRY(gust_require_init("gust_silu_mul"));
  if (n == 0) return GUST_OK;
  silu_mul_kernel<<<stream_blocks(n), 256, 0, g_cuda.stream>>>((float *)out_f32, (const float *)gate_f32, (const float *)up_f32, n);
  return gust_after_launch("gust_silu_mul");
}

int32_t gust_add(void *out_f32, const void *a_f32, const void *b_f32, uint64_t n) {
  GUST_REQUIRE(out_f32 && a_f32 && b_f32, "gust_add: NULL pointer");
  GUST_TRY(gust_require_init("gust_add"));
  if (n == 0) return GUST_OK;
  add_kernel<<<stream_blocks(n), 256, 0, g_cuda.stream>>>((float *)out_f32, (const float *)a_f32, (const float *)b_f32, n);
  return gust_after_launch("gust_add");
}

int32_t gust_argmax(void *out_i32, const void *x_f32, int32_t num_rows, int32_t row_len) {
  GUST_REQUIRE(out_i32 && x_f32, "gust_argmax: NULL pointer");
  GUST_REQUIRE(row_len > 0, "gust_argmax: row_len %d must be positive", row_len);
  GUST_TRY(gust_require_init("gust_argmax"));
  if (num_rows <= 0) return GUST_OK;
  argmax_kernel<<<num_rows, row_len >= 8192 ? 1024 : 256, 0, g_cuda.stream>>>((int32_t *)out_i32, (const float *)x_f32, row_len);
  return gust_after_launch("gust_argmax");
}

int32_t gust_gather_rows(void *out_f32, const void *x_f32, const void *rows_i32, int32_t num_rows, int32_t row_len,
                         int32_t num_src_rows) {
  GUST_REQUIRE(out_f32 && x_f32 && rows_i32, "gust_gather_rows: NULL pointer");
  GUST_TRY(gust_require_init("gust_gather_rows"));
  if (num_rows <= 0 || row_len <= 0) return GUST_OK;
  gather_rows_kernel<<<num_rows, 256, 0, g_cuda.stream>>>((float *)out_f32, (const float *)x_f32,
                                                             (const int32_t *)rows_i32, row_len, num_src_rows, g_cuda.errors);
  return gust_after_launch("gust_gather_rows");
}

} /* extern "C" */
