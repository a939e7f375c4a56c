/* gust_linear: argument checks (the CPU backend's messages), activation quantisation for FP8, and the
 * choice of kernel, plus the two plain-FFMA kernels (tiled SIMT GEMM for f32/f16 weights, naive reference).
 *
 * Which kernel:
 *   FP8,  T ≤ 64 (decode, small batches)        → skinny tensor-core kernel, split-K (linear_skinny.cu)
 *   FP8,  T > 64, K % 16 == 0, W 16-B aligned   → tiled tensor-core GEMM (linear_gemm.cu)
 *   FP8,  other                                 → skinny kernel over token tiles (any shape)
 *   FP8,  T > 4, GUST_CUDA_GEMM=wgmma (sm_90)   → wgmma GEMM, replacing both rows above (linear_wgmma.cu)
 *   BF16, any T (lm_head, vision tower)         → skinny kernel, activations split hi + lo
 *   F32/F16                                     → tiled FFMA GEMM below (not on the real model's hot path)
 *   GUST_CUDA_KERNELS=naive                     → one thread per output, for bisecting a wrong answer */
#include <math.h>

#include "linear.cuh"

namespace {

/* Tiled FFMA GEMM: a block computes 64 outputs × 64 tokens; each of 256 threads a 4 × 4 register tile.
 * Weights convert to f32 on the way into shared memory. Example: thread 37 has tx = 5, ty = 2, so it
 * computes rows n0 + 5 + 16i and tokens t0 + 2 + 16j for i, j < 4; consecutive threads write consecutive
 * n of one token row, so stores coalesce. */
constexpr int kTile = 64, kBK = 16;

__global__ void __launch_bounds__(256) simt_gemm_kernel(float *__restrict__ y, const float *__restrict__ x,
                                                          const void *__restrict__ w, int32_t dtype, int32_t T,
                                                          int32_t N, int32_t K, float m1, float m2) {
  __shared__ float ws[kBK][kTile + 1];
  __shared__ float xs[kBK][kTile + 1];
  const int tx = threadIdx.x & 15, ty = threadIdx.x >> 4;
  const int n0 = blockIdx.x * kTile, t0 = blockIdx.y * kTile;
  float acc[4][4] = {};
  for (int k0 = 0; k0 < K; k0 += kBK) {
    /* 64 rows × 16 k of each operand = 1024 values, 4 per thread; k fastest for coalesced reads */
    for (int i = threadIdx.x; i < kTile * kBK; i += 256) {
      const int r = i / kBK, kk = i % kBK, k = k0 + kk;
      const int n = n0 + r, tok = t0 + r;
      ws[kk][r] = (n < N && k < K) ? gust_load_weight(w, dtype, (int64_t)n * K + k) : 0.0f;
      xs[kk][r] = (tok < T && k < K) ? x[(size_t)tok * K + k] : 0.0f;
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kBK; kk++) {
      float wv[4], xv[4];
#pragma unroll
      for (int i = 0; i < 4; i++) wv[i] = ws[kk][tx + 16 * i];
#pragma unroll
      for (int j = 0; j < 4; j++) xv[j] = xs[kk][ty + 16 * j];
#pragma unroll
      for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) acc[i][j] = fmaf(xv[j], wv[i], acc[i][j]);
    }
    __syncthreads();
  }
#pragma unroll
  for (int j = 0; j < 4; j++) {
    const int tok = t0 + ty + 16 * j;
    if (tok >= T) continue;
#pragma unroll
    for (int i = 0; i < 4; i++) {
      const int n = n0 + tx + 16 * i;
      if (n < N) y[(size_t)tok * N + n] = (acc[i][j] * m1) * m2;
    }
  }
}

/* One thread per output; k in order, as the CPU's portable loop. FP8 reads the quantised codes. */
__global__ void naive_linear_kernel(LinearJob job) {
  const int64_t total = (int64_t)job.T * job.N;
  for (int64_t o = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; o < total; o += (int64_t)gridDim.x * blockDim.x) {
    const int32_t t = (int32_t)(o / job.N), n = (int32_t)(o % job.N);
    float acc = 0.0f;
    for (int32_t k = 0; k < job.K; k++) {
      const float xv = job.xq ? gust_e4m3_value(job.xq[(size_t)t * job.xq_stride + k]) : job.x[(size_t)t * job.K + k];
      acc += xv * gust_load_weight(job.w, job.dtype, (int64_t)n * job.K + k);
    }
    job.y[o] = (acc * job.m1) * job.m2;
  }
}

} /* namespace */

int32_t gust_linear_simt(const LinearJob &job) {
  dim3 grid((job.N + kTile - 1) / kTile, (job.T + kTile - 1) / kTile);
  if (grid.y > 65535) return gust_fail(GUST_ERR_UNSUPPORTED, "gust_linear: %d tokens exceed the f32/f16 kernel's grid", job.T);
  simt_gemm_kernel<<<grid, 256, 0, g_cuda.stream>>>(job.y, job.x, job.w, job.dtype, job.T, job.N, job.K, job.m1, job.m2);
  return gust_after_launch("gust_linear (f32/f16 tiled kernel)");
}

int32_t gust_linear_naive(const LinearJob &job) {
  naive_linear_kernel<<<gust_blocks_for((uint64_t)job.T * job.N, 128, (unsigned)g_cuda.sm_count * 32), 128, 0,
                        g_cuda.stream>>>(job);
  return gust_after_launch("gust_linear (naive kernel)");
}

extern "C" int32_t gust_linear(void *y_f32, const void *x_f32, const void *w, int32_t w_dtype, int32_t num_tokens,
                               int32_t n_out, int32_t k_in, float act_scale, float weight_scale) {
  GUST_REQUIRE(y_f32 && x_f32 && w, "gust_linear: NULL pointer");
  GUST_REQUIRE(num_tokens >= 0 && n_out > 0 && k_in > 0,
               "gust_linear: shapes must be positive (tokens %d, out %d, in %d)", num_tokens, n_out, k_in);
  GUST_REQUIRE(gust_is_float_dtype(w_dtype) || w_dtype == GUST_DTYPE_F8_E4M3,
               "gust_linear: weight dtype %d is not one of f32, f16, bf16, f8_e4m3", w_dtype);
  const bool fp8 = w_dtype == GUST_DTYPE_F8_E4M3;
  if (fp8)
    GUST_REQUIRE(act_scale > 0.0f && isfinite(act_scale),
                 "gust_linear: FP8 weights need a positive static activation scale, got %g", (double)act_scale);
  GUST_TRY(gust_require_init("gust_linear"));
  if (num_tokens == 0) return GUST_OK;

  LinearJob job;
  job.y = (float *)y_f32;
  job.w = w;
  job.dtype = w_dtype;
  job.x = (const float *)x_f32;
  job.xq = NULL;
  job.xq_stride = 0;
  job.T = num_tokens;
  job.N = n_out;
  job.K = k_in;
  job.m1 = fp8 ? act_scale : weight_scale;
  job.m2 = fp8 ? weight_scale : 1.0f;

  const bool naive = g_cuda.naive_kernels;
  if (!fp8 && (naive || w_dtype != GUST_DTYPE_BF16)) return naive ? gust_linear_naive(job) : gust_linear_simt(job);

  /* one scratch request per call: quantised activations (FP8) then split-K partials (skinny kernel) */
  const bool wgmma = fp8 && !naive && g_cuda.gemm_wgmma && num_tokens > 4;
  const bool gemm = fp8 && !naive && !wgmma && num_tokens > 64 && gust_gemm_fp8_applies(job);
  const SkinnyPlan plan = gust_skinny_plan(job);
  const bool skinny = !naive && !gemm && !wgmma;
  GustCarve carve;
  const size_t xq_stride = fp8 ? ((size_t)k_in + 63) / 64 * 64 : 0; /* whole 64-byte chunks, zero padded */
  const size_t xq_at = carve.take(fp8 ? xq_stride * num_tokens : 0);
  const size_t partials_at = carve.take(skinny ? gust_skinny_partials_bytes(job, plan) : 0);
  void *scratch = NULL;
  GUST_TRY(gust_scratch("gust_linear", carve.offset, &scratch));
  if (fp8) {
    job.xq = (const uint8_t *)scratch + xq_at;
    job.xq_stride = (int32_t)xq_stride;
    GUST_TRY(gust_quantize_rows((uint8_t *)job.xq, job.x, num_tokens, k_in, job.xq_stride, act_scale));
  }
  if (naive) return gust_linear_naive(job);
  if (wgmma) return gust_linear_wgmma_fp8(job);
  if (gemm) return gust_linear_gemm_fp8(job);
  return gust_linear_skinny(job, plan, (float *)((uint8_t *)scratch + partials_at));
}
