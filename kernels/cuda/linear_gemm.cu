/* The prefill-regime FP8 linear: a tiled tensor-core GEMM, y[T, N] = (xq[T, K] · W[N, K]ᵀ) · m1 · m2.
 *
 * Compute-bound once T is past a few hundred, so the kernel reuses every loaded byte many times: a block
 * owns a 128 (rows of W) × 128 (tokens) output tile and walks K in 128-byte steps through a 3-stage
 * cp.async pipeline in shared memory (copies of step k+2 overlap the mmas of step k). Eight warps split the
 * tile 2 × 4; each warp owns 64 rows × 32 tokens = 4 × 4 mma tiles of 16 × 8.
 *
 * It feeds the mmas with the same K permutation as the skinny kernel (linear_skinny.cu): a thread reads
 * 16 contiguous bytes of its fragment row, converts them to f16 (exact) and uses them for four m16n8k16
 * mmas, so plain 16-byte shared loads replace ldmatrix. Shared tiles are stored as two 64-byte-wide panels
 * per stage ([panel][row][64 B]) so that the 8 lanes of a load phase (rows g, g+1; t = 0..3) touch 128
 * contiguous bytes: no bank conflicts.
 *
 * Accumulation: each 128-element K step is summed from zero in the mma accumulators, then added to f32
 * registers (insurance against reduced-precision accumulation; DeepSeek-V3 promotes FP8 at 128 too).
 *
 * Speed ceiling: this runs at Hopper's f16 mma.sync rate (at most half the FP8 peak, minus conversions);
 * e4m3 mma.sync is not native on sm_90. Reaching the FP8 peak needs wgmma with TMA loads (next step). */
#include "linear.cuh"

namespace {

constexpr int kBM = 128, kBN = 128, kBK = 128, kStages = 3, kThreads = 256;
constexpr int kPanel = 64;                         /* bytes of K per panel row */
constexpr int kTileBytes = kBM * kBK;              /* A or B tile per stage: 16 KiB */
constexpr int kSmemBytes = kStages * 2 * kTileBytes; /* 96 KiB */

/* One stage: 128 rows × 128 bytes of W and of xq, 1024 pieces of 16 B each, 4 per thread.
 * Piece q → row q / 8, byte (q % 8)·16 of the K step, stored in panel (q % 8) / 4.
 * Example: q = 13 → row 1, bytes 80..95 → panel 1, offset 1·64 + 16 = 80 within that panel. */
__device__ inline void load_stage(uint8_t *a_s, uint8_t *b_s, const uint8_t *w, const uint8_t *xq, int32_t n0,
                                  int32_t t0, int32_t k0, int32_t N, int32_t T, int32_t K, int32_t xq_stride) {
#pragma unroll
  for (int i = 0; i < (kBM * kBK / 16) / kThreads; i++) {
    const int q = threadIdx.x + kThreads * i, row = q >> 3, p = q & 7;
    const int k = k0 + p * 16;
    const uint32_t off = (uint32_t)((p >> 2) * (kBM * kPanel) + row * kPanel + (p & 3) * 16);
    const bool a_ok = n0 + row < N && k < K, b_ok = t0 + row < T && k < K;
    gust_cp_async16((uint32_t)__cvta_generic_to_shared(a_s + off), a_ok ? (const void *)(w + (size_t)(n0 + row) * K + k) : (const void *)w, a_ok);
    gust_cp_async16((uint32_t)__cvta_generic_to_shared(b_s + off), b_ok ? (const void *)(xq + (size_t)(t0 + row) * xq_stride + k) : (const void *)xq, b_ok);
  }
}

__global__ void __launch_bounds__(kThreads, 1) gemm_fp8_kernel(float *__restrict__ y, const uint8_t *__restrict__ w,
                                                                 const uint8_t *__restrict__ xq, int32_t xq_stride,
                                                                 int32_t T, int32_t N, int32_t K, float m1, float m2) {
  extern __shared__ __align__(128) uint8_t smem[];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int g = lane >> 2, t = lane & 3;
  const int warp_m = warp & 1, warp_n = warp >> 1; /* 2 × 4 warps: 64 rows × 32 tokens each */
  const int n0 = blockIdx.x * kBM, t0 = blockIdx.y * kBN;
  const int steps = (K + kBK - 1) / kBK;
  auto a_stage = [&](int s) { return smem + s * 2 * kTileBytes; };
  auto b_stage = [&](int s) { return smem + s * 2 * kTileBytes + kTileBytes; };

  float acc[4][4][4], part[4][4][4];
#pragma unroll
  for (int mi = 0; mi < 4; mi++)
#pragma unroll
    for (int ni = 0; ni < 4; ni++)
#pragma unroll
      for (int r = 0; r < 4; r++) acc[mi][ni][r] = 0.0f;

#pragma unroll
  for (int s = 0; s < kStages - 1; s++) {
    if (s < steps) load_stage(a_stage(s), b_stage(s), w, xq, n0, t0, s * kBK, N, T, K, xq_stride);
    gust_cp_async_commit();
  }
  for (int step = 0; step < steps; step++) {
    gust_cp_async_wait<kStages - 2>();
    __syncthreads(); /* stage `step` landed for every thread; stage step−1 is no longer being read */
    const int next = step + kStages - 1;
    if (next < steps) load_stage(a_stage(next % kStages), b_stage(next % kStages), w, xq, n0, t0, next * kBK, N, T, K, xq_stride);
    gust_cp_async_commit(); /* an empty group keeps wait_group's count aligned with the stages */

    const uint8_t *a_s = a_stage(step % kStages), *b_s = b_stage(step % kStages);
#pragma unroll
    for (int mi = 0; mi < 4; mi++)
#pragma unroll
      for (int ni = 0; ni < 4; ni++)
#pragma unroll
        for (int r = 0; r < 4; r++) part[mi][ni][r] = 0.0f;
#pragma unroll
    for (int panel = 0; panel < kBK / kPanel; panel++) {
      const uint8_t *ap = a_s + panel * (kBM * kPanel), *bp = b_s + panel * (kBN * kPanel);
      /* the warp's 4 token fragments, converted to f16 once and reused by its 4 row tiles */
      uint32_t bh[4][8];
#pragma unroll
      for (int ni = 0; ni < 4; ni++)
        gust_e4m3x16_to_f16(*(const uint4 *)(bp + (warp_n * 32 + ni * 8 + g) * kPanel + t * 16), bh[ni]);
#pragma unroll
      for (int mi = 0; mi < 4; mi++) {
        const int row = warp_m * 64 + mi * 16 + g;
        uint32_t lo[8], hi[8];
        gust_e4m3x16_to_f16(*(const uint4 *)(ap + row * kPanel + t * 16), lo);
        gust_e4m3x16_to_f16(*(const uint4 *)(ap + (row + 8) * kPanel + t * 16), hi);
#pragma unroll
        for (int ni = 0; ni < 4; ni++)
#pragma unroll
          for (int q = 0; q < 4; q++) /* 16 contiguous bytes of K per thread → 4 k16 mmas (linear_skinny.cu) */
            gust_mma_f16(part[mi][ni], lo[2 * q], hi[2 * q], lo[2 * q + 1], hi[2 * q + 1], bh[ni][2 * q], bh[ni][2 * q + 1]);
      }
    }
#pragma unroll
    for (int mi = 0; mi < 4; mi++)
#pragma unroll
      for (int ni = 0; ni < 4; ni++)
#pragma unroll
        for (int r = 0; r < 4; r++) acc[mi][ni][r] += part[mi][ni][r];
  }
  gust_cp_async_wait<0>();

  /* register r of tile (mi, ni): W row g + 8·(r ≥ 2), token 2t + (r & 1) within the 16 × 8 tile */
#pragma unroll
  for (int mi = 0; mi < 4; mi++)
#pragma unroll
    for (int ni = 0; ni < 4; ni++)
#pragma unroll
      for (int r = 0; r < 4; r++) {
        const int n = n0 + warp_m * 64 + mi * 16 + g + (r >= 2 ? 8 : 0);
        const int tok = t0 + warp_n * 32 + ni * 8 + 2 * t + (r & 1);
        if (n < N && tok < T) y[(size_t)tok * N + n] = ((acc[mi][ni][r] * GUST_FP8_F16_UNSCALE) * m1) * m2;
      }
}

} /* namespace */

bool gust_gemm_fp8_applies(const LinearJob &job) {
  return job.K % 16 == 0 && ((uintptr_t)job.w & 15) == 0 && (job.T + kBN - 1) / kBN <= 65535;
}

int32_t gust_linear_gemm_fp8(const LinearJob &job) {
  static bool configured = false;
  if (!configured) {
    GUST_CUDA_TRY("gust_linear", "raising the GEMM's shared-memory limit",
                  cudaFuncSetAttribute(gemm_fp8_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmemBytes));
    configured = true;
  }
  dim3 grid((job.N + kBM - 1) / kBM, (job.T + kBN - 1) / kBN);
  gemm_fp8_kernel<<<grid, kThreads, kSmemBytes, g_cuda.stream>>>(job.y, (const uint8_t *)job.w, job.xq, job.xq_stride,
                                                                    job.T, job.N, job.K, job.m1, job.m2);
  return gust_after_launch("gust_linear (FP8 tensor-core GEMM)");
}
