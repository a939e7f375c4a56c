/* FP8 × FP8 linear on Hopper's tensor cores at their native e4m3 rate: y[T, N] = (xq[T, K] · W[N, K]ᵀ) · m1 · m2
 * with wgmma.mma_async m64n128k32 (e4m3 × e4m3 → f32). First version, chosen only by GUST_CUDA_GEMM=wgmma on an
 * sm_90 GPU (linear.cu); docs/notes/2026-12-06-issue-38.md holds the design, predictions and what is unverified.
 *
 * A block (two warpgroups, 256 threads) owns 128 rows of W × 128 tokens. Warpgroup g multiplies W rows 64g..64g+63
 * (operand A, 64 × 32 per instruction) by the block's 128 tokens (operand B, "N" = 128), both read by the tensor
 * cores from shared memory through descriptors. K advances 128 bytes per stage through a 3-stage cp.async pipeline;
 * tiles are stored K-major in the 128-byte swizzle (wgmma_layout.cuh, which a CPU test checks).
 *
 * Accumulation: each stage's four k32 instructions sum from zero (scale-d = 0 on the first) into `part`, which is
 * then added to f32 registers: promotion every 128 K elements, as DeepSeek-V3 does, because the FP8 wgmma
 * accumulator keeps fewer than f32's bits. Products of two e4m3 values are exact, so the result is the CPU's up to
 * summation order.
 *
 * Left for later (issue 38): TMA loads and a producer warpgroup (setmaxnreg), keeping one wgmma group in flight
 * across stages, tiles by token count (n64 / n256), split-K / stream-K for 8–128 tokens, a coalesced epilogue. */
#include "linear.cuh"
#include "wgmma_layout.cuh"

namespace {

constexpr int kBM = 128, kBN = 128, kBK = 128, kStages = 3, kThreads = 256;
constexpr int kTileBytes = kBM * kBK;                          /* W or xq tile per stage: 16 KiB */
constexpr int kStageBytes = 2 * kTileBytes;                    /* W tile, then xq tile */
constexpr int kSmemBytes = kStages * kStageBytes + 1024;       /* + slack to align the tiles to 1024 B */
static_assert(kBN == kBM, "the W and xq tiles share one loader and one size");

#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define GUST_HAVE_WGMMA 1
__device__ inline void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ inline void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
__device__ inline void wgmma_wait_all() { asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory"); }
/* Pins an accumulator register behind the preceding asm (wgmma.wait_group): wgmma writes it asynchronously, and
 * without this the compiler, seeing no dependence on the wait, may move reads of it above the wait. */
__device__ inline void fence_operand(float &r) { asm volatile("" : "+f"(r)::"memory"); }
/* shared memory written by cp.async or st.shared (the generic proxy) becomes visible to wgmma (the async proxy) */
__device__ inline void fence_proxy_async() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }

#define GUST_D4(i) "+f"(d[i]), "+f"(d[i + 1]), "+f"(d[i + 2]), "+f"(d[i + 3])
/* d (64 × 128 f32, 64 registers per thread) = A · B (+ d unless accumulate == 0); A and B K-major e4m3 in shared
 * memory. The predicate form of scale-d lets the first k32 of a stage start from zero without a separate store. */
__device__ inline void wgmma_m64n128k32_e4m3(float (&d)[64], uint64_t desc_a, uint64_t desc_b, int accumulate) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k32.f32.e4m3.e4m3 "
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, "
      "%22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, "
      "%43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, "
      "%64, %65, p, 1, 1;\n}\n"
      : GUST_D4(0), GUST_D4(4), GUST_D4(8), GUST_D4(12), GUST_D4(16), GUST_D4(20), GUST_D4(24), GUST_D4(28),
        GUST_D4(32), GUST_D4(36), GUST_D4(40), GUST_D4(44), GUST_D4(48), GUST_D4(52), GUST_D4(56), GUST_D4(60)
      : "l"(desc_a), "l"(desc_b), "r"(accumulate));
}
#undef GUST_D4

/* 16 bytes of a W row that may be unaligned or cut by K (K % 16 != 0): byte loads, zeros past K. */
__device__ inline uint4 load_chunk_bytes(const uint8_t *row, int32_t k, int32_t K) {
  uint32_t v[4] = {0, 0, 0, 0};
#pragma unroll
  for (int b = 0; b < 16; b++)
    if (k + b < K) v[b >> 2] |= (uint32_t)row[k + b] << (8 * (b & 3));
  return make_uint4(v[0], v[1], v[2], v[3]);
}

/* One stage: 128 rows × 128 bytes of W and of xq, 1024 chunks of 16 B each, 4 of each per thread.
 * Chunk q → row q / 8, K bytes 16·(q % 8) onward, stored at gust_sw128_offset(row, q % 8).
 * Example: q = 83 → row 10, chunk 3 (k0 + 48..63) → byte 1296 of the tile. xq rows are zero-padded to
 * xq_stride (a multiple of 64), so a chunk that starts below xq_stride is all in bounds. */
template <bool kAlignedW>
__device__ inline void load_stage(uint8_t *a_s, uint8_t *b_s, const uint8_t *w, const uint8_t *xq, int32_t n0,
                                  int32_t t0, int32_t k0, int32_t N, int32_t T, int32_t K, int32_t xq_stride) {
#pragma unroll
  for (int i = 0; i < (kBM * kBK / 16) / kThreads; i++) {
    const int q = threadIdx.x + kThreads * i, row = q >> 3, chunk = q & 7;
    const int k = k0 + chunk * 16;
    const uint32_t off = gust_sw128_offset((uint32_t)row, (uint32_t)chunk);
    const bool a_ok = n0 + row < N && k < K, b_ok = t0 + row < T && k < xq_stride;
    const uint8_t *w_row = w + (size_t)(n0 + row) * K;
    if (kAlignedW)
      gust_cp_async16((uint32_t)__cvta_generic_to_shared(a_s + off), a_ok ? (const void *)(w_row + k) : (const void *)w,
                      a_ok);
    else
      *(uint4 *)(a_s + off) = a_ok ? load_chunk_bytes(w_row, k, K) : make_uint4(0, 0, 0, 0);
    gust_cp_async16((uint32_t)__cvta_generic_to_shared(b_s + off),
                    b_ok ? (const void *)(xq + (size_t)(t0 + row) * xq_stride + k) : (const void *)xq, b_ok);
  }
}

#endif /* GUST_HAVE_WGMMA */

template <bool kAlignedW>
__global__ void __launch_bounds__(kThreads, 1) wgmma_fp8_kernel(float *__restrict__ y, const uint8_t *__restrict__ w,
                                                                  const uint8_t *__restrict__ xq, int32_t xq_stride,
                                                                  int32_t T, int32_t N, int32_t K, float m1, float m2) {
#ifdef GUST_HAVE_WGMMA
  extern __shared__ uint8_t smem_raw[];
  /* the 128-byte swizzle is a function of address bits [4, 10): every tile starts on a 1024-byte boundary */
  const uint32_t raw_addr = (uint32_t)__cvta_generic_to_shared(smem_raw);
  uint8_t *smem = smem_raw + (((raw_addr + 1023) & ~1023u) - raw_addr);
  const uint32_t smem_addr = (uint32_t)__cvta_generic_to_shared(smem);
  const int group = threadIdx.x >> 7, lane = threadIdx.x & 127; /* warpgroup and thread within it */
  const int n0 = blockIdx.x * kBM, t0 = blockIdx.y * kBN;
  const int steps = (K + kBK - 1) / kBK;

  float acc[64], part[64];
#pragma unroll
  for (int i = 0; i < 64; i++) acc[i] = 0.0f;

#pragma unroll
  for (int s = 0; s < kStages - 1; s++) {
    if (s < steps)
      load_stage<kAlignedW>(smem + s * kStageBytes, smem + s * kStageBytes + kTileBytes, w, xq, n0, t0, s * kBK, N, T,
                            K, xq_stride);
    gust_cp_async_commit();
  }
  for (int step = 0; step < steps; step++) {
    gust_cp_async_wait<kStages - 2>(); /* this thread's copies of stage `step` landed */
    fence_proxy_async();
    __syncthreads(); /* everyone's copies landed; every wgmma of step − 1 finished (wait below), so its stage is free */
    const int next = step + kStages - 1;
    if (next < steps) {
      uint8_t *stage = smem + (next % kStages) * kStageBytes;
      load_stage<kAlignedW>(stage, stage + kTileBytes, w, xq, n0, t0, next * kBK, N, T, K, xq_stride);
    }
    gust_cp_async_commit(); /* an empty group keeps wait_group's count aligned with the stages */

    const uint32_t a_tile = smem_addr + (step % kStages) * kStageBytes + group * (64 * kBK);
    const uint32_t b_tile = smem_addr + (step % kStages) * kStageBytes + kTileBytes;
    wgmma_fence();
#pragma unroll
    for (int s = 0; s < kBK / 32; s++)
      wgmma_m64n128k32_e4m3(part, gust_wgmma_desc_k32(a_tile, s), gust_wgmma_desc_k32(b_tile, s), s > 0);
    wgmma_commit();
    wgmma_wait_all();
#pragma unroll
    for (int i = 0; i < 64; i++) {
      fence_operand(part[i]);
      acc[i] += part[i];
    }
  }
  gust_cp_async_wait<0>();

  /* register i: W row 64·group + gust_wgmma_acc_row, token gust_wgmma_acc_col (wgmma_layout.cuh's worked example) */
#pragma unroll
  for (int i = 0; i < 64; i++) {
    const int n = n0 + 64 * group + (int)gust_wgmma_acc_row((uint32_t)lane, (uint32_t)i);
    const int tok = t0 + (int)gust_wgmma_acc_col((uint32_t)lane, (uint32_t)i);
    if (n < N && tok < T) y[(size_t)tok * N + n] = (acc[i] * m1) * m2;
  }
#else
  __trap(); /* never chosen: gust_init accepts GUST_CUDA_GEMM=wgmma on sm_90 only, whose code has the body above */
#endif
}

template <bool kAlignedW>
int32_t launch(const LinearJob &job) {
  static bool configured = false;
  if (!configured) {
    GUST_CUDA_TRY("gust_linear", "raising the wgmma GEMM's shared-memory limit",
                  cudaFuncSetAttribute(wgmma_fp8_kernel<kAlignedW>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                       kSmemBytes));
    configured = true;
  }
  dim3 grid((job.N + kBM - 1) / kBM, (job.T + kBN - 1) / kBN);
  wgmma_fp8_kernel<kAlignedW><<<grid, kThreads, kSmemBytes, g_cuda.stream>>>(
      job.y, (const uint8_t *)job.w, job.xq, job.xq_stride, job.T, job.N, job.K, job.m1, job.m2);
  return gust_after_launch("gust_linear (FP8 wgmma GEMM)");
}

} /* namespace */

int32_t gust_linear_wgmma_fp8(const LinearJob &job) {
  if ((job.T + kBN - 1) / kBN > 65535)
    return gust_fail(GUST_ERR_UNSUPPORTED, "gust_linear: %d tokens exceed the wgmma GEMM's grid", job.T);
  const bool aligned = job.K % 16 == 0 && ((uintptr_t)job.w & 15) == 0;
  return aligned ? launch<true>(job) : launch<false>(job);
}
