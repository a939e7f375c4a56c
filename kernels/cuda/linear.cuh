/* Internal interface between the linear-layer translation units (dispatch in linear.cu). */
#ifndef GUST_CUDA_LINEAR_CUH
#define GUST_CUDA_LINEAR_CUH

#include "../e4m3.h"
#include "common.cuh"

/* One y[T, N] = x[T, K] · W[N, K]ᵀ call, with the output multipliers applied as ((acc · m1) · m2), the
 * CPU backend's order: FP8 has m1 = act_scale, m2 = weight_scale; plain weights m1 = weight_scale, m2 = 1. */
struct LinearJob {
  float *y;
  const void *w;
  int32_t dtype;
  const float *x;    /* f32 activations (non-FP8 weights) */
  const uint8_t *xq; /* FP8 only: quantised activations, rows of xq_stride bytes, zero-padded past K */
  int32_t xq_stride;
  int32_t T, N, K;
  float m1, m2;
};

/* Quantises x[T, K] into rows of row_stride bytes (row_stride a multiple of 4, ≥ K), zero padding. */
int32_t gust_quantize_rows(uint8_t *xq, const float *x, int32_t T, int32_t K, int32_t row_stride, float act_scale);

/* Tensor-core "skinny" kernel for FP8 and BF16 weights: streams W once per 64 tokens (decode, small
 * batches); any shape and alignment. Split-K partials need splits · T · N floats of scratch. */
struct SkinnyPlan {
  int32_t row_tiles;   /* ceil(N / 16) */
  int32_t token_tiles; /* ceil(T / (8 · n_tiles)) */
  int32_t n_tiles;     /* 8-token mma tiles per block: 1, 2, 4 or 8 */
  int32_t splits;      /* K slices reduced by the last block of each output tile */
  int32_t k_per_split; /* elements, a multiple of the 64-byte chunk */
};
SkinnyPlan gust_skinny_plan(const LinearJob &job);
size_t gust_skinny_partials_bytes(const LinearJob &job, const SkinnyPlan &plan);
int32_t gust_linear_skinny(const LinearJob &job, const SkinnyPlan &plan, float *partials);

/* Tiled FP8 tensor-core GEMM for prefill (many tokens): needs K % 16 == 0 and a 16-byte aligned W. */
bool gust_gemm_fp8_applies(const LinearJob &job);
int32_t gust_linear_gemm_fp8(const LinearJob &job);

/* Tiled FP8 GEMM on Hopper's wgmma (linear_wgmma.cu): chosen for FP8 weights and T > 4 when GUST_CUDA_GEMM=wgmma
 * (gust_init accepts that on sm_90 only). Any shape: W rows whose K is not a multiple of 16 load byte by byte. */
int32_t gust_linear_wgmma_fp8(const LinearJob &job);

/* f32/f16 weights (and any dtype when asked): a shared-memory tiled FFMA GEMM. */
int32_t gust_linear_simt(const LinearJob &job);
/* Reference: one thread per output, sequential k like the CPU's portable loop (GUST_CUDA_KERNELS=naive). */
int32_t gust_linear_naive(const LinearJob &job);

/* ---- cp.async (sm_80+): 16-byte global → shared copies that complete at wait_group ------------------- */
__device__ inline void gust_cp_async16(uint32_t smem, const void *gmem, bool valid) {
  /* src-size 0 writes 16 zero bytes: rows past N or T and k past K read as zeros */
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem), "l"(gmem), "r"(valid ? 16 : 0));
}
__device__ inline void gust_cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ inline void gust_cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

/* ---- tensor-core helpers ----------------------------------------------------------------------------
 * FP8 goes through f16 mma.sync on purpose: mma.sync with e4m3 operands is native on Ada (sm_89) only;
 * on Hopper ptxas emulates it by converting to f16 for every instruction (NVIDIA/cutlass#1986), and
 * Hopper's native FP8 path is wgmma. Converting once ourselves (exact: every e4m3 value is an f16) lets
 * one converted fragment feed several mmas. Products of two e4m3 values are exact in f16 × f16 → f32, so
 * the arithmetic is the CPU's up to summation order.
 * sm_89 and later convert with cvt.rn.f16x2.e4m3x2. sm_80 (A100) has no such instruction: it runs the
 * integer sequence of kernels/e4m3.h, which yields value × 2^-8 for each operand, so every product and
 * every f32 partial sum is the sm_90 one × 2^-16 exactly (powers of two commute with rounding; the
 * smallest product, 2^-34, stays far above f32's subnormals). The epilogue multiplies by
 * GUST_FP8_F16_UNSCALE = 2^16 before the output scales, so both paths write the same bits. Building with
 * GUST_CUDA_FP8_INTEGER=1 (kernels/build.mjs) forces the integer path on every architecture. */
#if defined(__CUDA_ARCH__) && (__CUDA_ARCH__ < 890 || defined(GUST_FP8_INTEGER_CONVERT))
#define GUST_FP8_F16_UNSCALE 65536.0f
__device__ inline uint32_t gust_e4m3x2_to_f16x2(uint32_t two_codes) { return gust_e4m3x2_to_f16x2_scaled(two_codes); }
#else
#define GUST_FP8_F16_UNSCALE 1.0f
__device__ inline uint32_t gust_e4m3x2_to_f16x2(uint32_t two_codes) {
  uint32_t out;
  const uint16_t in = (uint16_t)two_codes;
  asm("cvt.rn.f16x2.e4m3x2 %0, %1;\n" : "=r"(out) : "h"(in)); /* low byte → low half */
  return out;
}
#endif

/* 16 e4m3 codes (one uint4) → 8 f16x2 registers: h[i] holds codes 2i (low half) and 2i + 1. */
__device__ inline void gust_e4m3x16_to_f16(const uint4 q, uint32_t (&h)[8]) {
  h[0] = gust_e4m3x2_to_f16x2(q.x);
  h[1] = gust_e4m3x2_to_f16x2(q.x >> 16);
  h[2] = gust_e4m3x2_to_f16x2(q.y);
  h[3] = gust_e4m3x2_to_f16x2(q.y >> 16);
  h[4] = gust_e4m3x2_to_f16x2(q.z);
  h[5] = gust_e4m3x2_to_f16x2(q.z >> 16);
  h[6] = gust_e4m3x2_to_f16x2(q.w);
  h[7] = gust_e4m3x2_to_f16x2(q.w >> 16);
}

/* m16n8k16 with f32 accumulators (PTX ISA fragment layouts): A regs {row g, row g+8} × {cols 2t..2t+1,
 * cols 8+2t..8+2t+1} as a0, a1, a2, a3; B regs k 2t..2t+1 and 8+2t..8+2t+1 of column g. */
__device__ inline void gust_mma_f16(float (&c)[4], uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3, uint32_t b0,
                                    uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

__device__ inline void gust_mma_bf16(float (&c)[4], uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3, uint32_t b0,
                                     uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

#endif
