/* The decode-regime linear: y[T, N] = x[T, K] · W[N, K]ᵀ for FP8 E4M3 and BF16 weights with T small.
 *
 * At batch 1 the layer is a GEMV whose time is reading W once, so the kernel's job is to keep enough
 * 16-byte weight loads in flight and do the arithmetic for free. It uses the tensor cores (mma.sync
 * m16n8k16, f16 for FP8 weights after an exact e4m3 → f16 conversion in registers, bf16 for BF16) rather
 * than FFMA: a few conversion instructions per 16 bytes, then every multiply-add is on the tensor cores.
 *
 * The K permutation. An mma's A fragment scatters each thread's elements over K (thread t of a quad holds
 * columns 2t, 2t+1 and 8+2t, 8+2t+1 of a 16-wide k-step). A dot product does not care about the order of
 * its terms, so we let thread t own 16 *contiguous* bytes of each 64-byte row chunk instead and feed them
 * to consecutive mmas; B (the activations) uses the very same mapping, so every product pairs the right
 * w and x. Worked example (FP8, 64-element chunk at k0): lane 6 is group g = 1, t = 2; it loads
 * W[n0+1][k0+32 .. k0+47] and W[n0+9][k0+32 .. k0+47] and converts them to 8 f16 pairs each; mma q = 0
 * takes elements k0+32, k0+33 as A register 0 (fragment columns 4, 5 = 2t, 2t+1) and k0+34, k0+35 as A
 * register 2 (columns 12, 13 = 8+2t, 8+2t+1), with B registers 0 and 1 holding x[token 1][k0+32..33] and
 * x[token 1][k0+34..35], exactly the fragment rows 4, 5 and 12, 13 of that lane; mmas q = 1, 2, 3 take
 * elements 36..39, 40..43, 44..47. BF16 chunks are 32 two-byte elements: 8 per thread, two mmas.
 *
 * BF16 activations: the ABI keeps activations in f32, so x = hi + lo with hi = bf16(x), lo = bf16(x − hi)
 * and y = W·hi + W·lo: W is exactly bf16, the split keeps ~16 bits of each activation (error ~2^-17
 * relative), and accumulation is f32. The FP8 path quantises x on purpose (transformers' semantics).
 *
 * Accumulation: each 64-byte chunk is accumulated from zero in the mma registers and then added to f32
 * registers, which bounds what a reduced-precision accumulator could lose (cheap insurance; the f16/bf16
 * mmas are expected to accumulate in full f32).
 *
 * Grid: x = 16-row tiles of W, y = K splits, z = token tiles of 8·NT rows; 4 warps per block take turns
 * over runs of U adjacent K chunks of their split, then reduce through shared memory. With splits > 1
 * each block writes raw partial sums and the last block of a tile (a device-scope counter) adds them in
 * split order, so the result is deterministic. */
#include <cuda_bf16.h>

#include "linear.cuh"

namespace {

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;

struct SkinnyArgs {
  float *y;
  const uint8_t *w;
  const uint8_t *xq; /* FP8 */
  const float *x;    /* BF16 */
  int32_t xq_stride, T, N, K, splits, k_per_split;
  float m1, m2;
  float *partials;
  int32_t *counters;
};

/* 16 bytes of W row `row` from element k; zeros past K or N. The fast path streams the weights with an
 * evict-first load since no one reads them again this step. */
template <bool FP8, bool VEC>
__device__ inline uint4 load_w(const uint8_t *w, int32_t row, int32_t N, int32_t K, int32_t k) {
  constexpr int EB = FP8 ? 1 : 2, EPT = 16 / EB;
  if (row >= N) return make_uint4(0, 0, 0, 0);
  const uint8_t *p = w + ((size_t)row * K + k) * EB;
  if (VEC && k + EPT <= K) return __ldcs((const uint4 *)p);
  uint32_t words[4] = {0, 0, 0, 0};
#pragma unroll
  for (int e = 0; e < EPT; e++) {
    if (k + e < K) {
      uint32_t v = FP8 ? (uint32_t)p[e] : (uint32_t)((const uint16_t *)p)[e];
      words[(e * EB) / 4] |= v << (8 * ((e * EB) % 4));
    }
  }
  return make_uint4(words[0], words[1], words[2], words[3]);
}

/* 8 f32 activations of one token from element k (BF16 path); zeros past K. */
template <bool VEC>
__device__ inline void load_x8(const float *x, int32_t K, int32_t k, float (&v)[8]) {
  if (VEC && k + 8 <= K) {
    float4 a = __ldg((const float4 *)(x + k)), b = __ldg((const float4 *)(x + k + 4));
    v[0] = a.x; v[1] = a.y; v[2] = a.z; v[3] = a.w; v[4] = b.x; v[5] = b.y; v[6] = b.z; v[7] = b.w;
    return;
  }
#pragma unroll
  for (int e = 0; e < 8; e++) v[e] = k + e < K ? x[k + e] : 0.0f;
}

__device__ inline uint32_t pack_bf16(float a, float b) {
  __nv_bfloat162 h = __floats2bfloat162_rn(a, b); /* .x (a) in the low half: the lower k */
  return *reinterpret_cast<uint32_t *>(&h);
}

template <bool FP8, bool W_VEC, bool X_VEC, int NT, int U>
__global__ void __launch_bounds__(kThreads) skinny_kernel(SkinnyArgs a) {
  constexpr int CHUNK = FP8 ? 64 : 32; /* elements in a 64-byte row chunk */
  constexpr int EPT = CHUNK / 4;       /* elements per thread per chunk */
  constexpr int XW = FP8 ? 1 : 2;      /* uint4 of activations per token per chunk */
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int g = lane >> 2, t = lane & 3;
  const int n0 = blockIdx.x * 16, split = blockIdx.y, tok0 = blockIdx.z * 8 * NT;
  const int k_begin = split * a.k_per_split;
  const int k_end = min(a.K, k_begin + a.k_per_split);
  const int c_begin = k_begin / CHUNK, c_end = (k_end + CHUNK - 1) / CHUNK;

  const float unscale = FP8 ? GUST_FP8_F16_UNSCALE : 1.0f; /* see linear.cuh */
  float acc[NT][4];
#pragma unroll
  for (int j = 0; j < NT; j++) acc[j][0] = acc[j][1] = acc[j][2] = acc[j][3] = 0.0f;

  /* warp w takes U adjacent chunks per round, so the two 64-byte halves of each 128-byte line of W are
   * read by the same warp back to back: chunks c_begin + w·U .. + U − 1, then kWarps·U further on */
  for (int c = c_begin + warp * U; c < c_end; c += kWarps * U) {
    uint4 wa[U], wb[U], xr[U][NT][XW];
#pragma unroll
    for (int u = 0; u < U; u++) { /* issue every load of U chunks before the first mma */
      const int cu = c + u, k = cu * CHUNK + t * EPT;
      const bool live = cu < c_end;
      wa[u] = live ? load_w<FP8, W_VEC>(a.w, n0 + g, a.N, a.K, k) : make_uint4(0, 0, 0, 0);
      wb[u] = live ? load_w<FP8, W_VEC>(a.w, n0 + g + 8, a.N, a.K, k) : make_uint4(0, 0, 0, 0);
#pragma unroll
      for (int j = 0; j < NT; j++) {
        const int tok = tok0 + 8 * j + g;
        if (!live || tok >= a.T) {
#pragma unroll
          for (int q = 0; q < XW; q++) xr[u][j][q] = make_uint4(0, 0, 0, 0);
        } else if constexpr (FP8) {
          xr[u][j][0] = __ldg((const uint4 *)(a.xq + (size_t)tok * a.xq_stride + k)); /* padded rows: in bounds */
        } else {
          float v[8];
          load_x8<X_VEC>(a.x + (size_t)tok * a.K, a.K, k, v);
          xr[u][j][0] = make_uint4(__float_as_uint(v[0]), __float_as_uint(v[1]), __float_as_uint(v[2]), __float_as_uint(v[3]));
          xr[u][j][1] = make_uint4(__float_as_uint(v[4]), __float_as_uint(v[5]), __float_as_uint(v[6]), __float_as_uint(v[7]));
        }
      }
    }
#pragma unroll
    for (int u = 0; u < U; u++) {
      uint32_t wh[FP8 ? 8 : 1], wh8[FP8 ? 8 : 1]; /* rows g and g + 8 as f16 pairs, shared by all n-tiles */
      if constexpr (FP8) {
        gust_e4m3x16_to_f16(wa[u], wh);
        gust_e4m3x16_to_f16(wb[u], wh8);
      }
#pragma unroll
      for (int j = 0; j < NT; j++) {
        float c4[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        if constexpr (FP8) {
          uint32_t xh[8];
          gust_e4m3x16_to_f16(xr[u][j][0], xh);
#pragma unroll
          for (int q = 0; q < 4; q++) gust_mma_f16(c4, wh[2 * q], wh8[2 * q], wh[2 * q + 1], wh8[2 * q + 1], xh[2 * q], xh[2 * q + 1]);
        } else {
          float v[8] = {__uint_as_float(xr[u][j][0].x), __uint_as_float(xr[u][j][0].y), __uint_as_float(xr[u][j][0].z),
                        __uint_as_float(xr[u][j][0].w), __uint_as_float(xr[u][j][1].x), __uint_as_float(xr[u][j][1].y),
                        __uint_as_float(xr[u][j][1].z), __uint_as_float(xr[u][j][1].w)};
          float lo[8];
#pragma unroll
          for (int e = 0; e < 8; e++) lo[e] = v[e] - __bfloat162float(__float2bfloat16_rn(v[e]));
          gust_mma_bf16(c4, wa[u].x, wb[u].x, wa[u].y, wb[u].y, pack_bf16(v[0], v[1]), pack_bf16(v[2], v[3]));
          gust_mma_bf16(c4, wa[u].z, wb[u].z, wa[u].w, wb[u].w, pack_bf16(v[4], v[5]), pack_bf16(v[6], v[7]));
          gust_mma_bf16(c4, wa[u].x, wb[u].x, wa[u].y, wb[u].y, pack_bf16(lo[0], lo[1]), pack_bf16(lo[2], lo[3]));
          gust_mma_bf16(c4, wa[u].z, wb[u].z, wa[u].w, wb[u].w, pack_bf16(lo[4], lo[5]), pack_bf16(lo[6], lo[7]));
        }
#pragma unroll
        for (int r = 0; r < 4; r++) acc[j][r] += c4[r];
      }
    }
  }

  /* Reduce the 4 warps' fragments. Fragment register r of lane (g, t) in n-tile j is W row g + 8·(r ≥ 2)
   * against token 8j + 2t + (r & 1); thread i of the block then owns register r = i & 3 of lane i >> 2. */
  __shared__ float red[kWarps][NT][32][4];
#pragma unroll
  for (int j = 0; j < NT; j++)
#pragma unroll
    for (int r = 0; r < 4; r++) red[warp][j][lane][r] = acc[j][r];
  __syncthreads();
  const int ln = threadIdx.x >> 2, r = threadIdx.x & 3;
  const int n = n0 + (ln >> 2) + (r >= 2 ? 8 : 0);
  float sums[NT];
#pragma unroll
  for (int j = 0; j < NT; j++) {
    sums[j] = ((red[0][j][ln][r] + red[1][j][ln][r]) + red[2][j][ln][r]) + red[3][j][ln][r];
    const int tok = tok0 + 8 * j + 2 * (ln & 3) + (r & 1);
    if (n < a.N && tok < a.T) {
      if (a.splits == 1) a.y[(size_t)tok * a.N + n] = ((sums[j] * unscale) * a.m1) * a.m2;
      else a.partials[((size_t)split * a.T + tok) * a.N + n] = sums[j];
    }
  }
  if (a.splits == 1) return;

  __shared__ int is_last;
  __threadfence(); /* this block's partials are visible device-wide before it is counted */
  __syncthreads();
  if (threadIdx.x == 0) {
    int32_t *counter = a.counters + blockIdx.z * gridDim.x + blockIdx.x;
    is_last = atomicAdd(counter, 1) == a.splits - 1;
    if (is_last) *counter = 0; /* re-arm for the next launch */
  }
  __syncthreads();
  if (!is_last) return;
  __threadfence();
#pragma unroll
  for (int j = 0; j < NT; j++) {
    const int tok = tok0 + 8 * j + 2 * (ln & 3) + (r & 1);
    if (n >= a.N || tok >= a.T) continue;
    float s = 0.0f;
    for (int sp = 0; sp < a.splits; sp++) s += __ldcg(a.partials + ((size_t)sp * a.T + tok) * a.N + n);
    a.y[(size_t)tok * a.N + n] = ((s * unscale) * a.m1) * a.m2;
  }
}

template <bool FP8, bool W_VEC, bool X_VEC>
void launch_nt(const SkinnyArgs &args, dim3 grid, int n_tiles) {
  /* fewer chunks in flight as each one carries more tokens, to stay within the register budget */
  constexpr int U1 = FP8 ? 4 : 4, U2 = FP8 ? 4 : 2, U4 = FP8 ? 2 : 1, U8 = 1;
  switch (n_tiles) {
    case 1: skinny_kernel<FP8, W_VEC, X_VEC, 1, U1><<<grid, kThreads, 0, g_cuda.stream>>>(args); break;
    case 2: skinny_kernel<FP8, W_VEC, X_VEC, 2, U2><<<grid, kThreads, 0, g_cuda.stream>>>(args); break;
    case 4: skinny_kernel<FP8, W_VEC, X_VEC, 4, U4><<<grid, kThreads, 0, g_cuda.stream>>>(args); break;
    default: skinny_kernel<FP8, W_VEC, X_VEC, 8, U8><<<grid, kThreads, 0, g_cuda.stream>>>(args); break;
  }
}

} /* namespace */

SkinnyPlan gust_skinny_plan(const LinearJob &job) {
  SkinnyPlan p;
  const int chunk = job.dtype == GUST_DTYPE_F8_E4M3 ? 64 : 32;
  p.row_tiles = (job.N + 15) / 16;
  p.n_tiles = job.T <= 8 ? 1 : job.T <= 16 ? 2 : job.T <= 32 ? 4 : 8;
  p.token_tiles = (job.T + 8 * p.n_tiles - 1) / (8 * p.n_tiles);
  /* Split K until about 8 blocks (32 warps) per SM exist, keeping ≥ 8 chunks per split so each warp
   * still has two chunks to overlap. Example, H100 (132 SMs), k_proj at batch 1: N = 1024 → 64 tiles,
   * target 1056 blocks → 17 splits; K = 12288 → 192 chunks of 64 → 12 chunks (768 bytes) per split,
   * which makes 16 splits after rounding. */
  const int64_t tiles = (int64_t)p.row_tiles * p.token_tiles;
  const int64_t target = (int64_t)g_cuda.sm_count * 8;
  const int chunks = (job.K + chunk - 1) / chunk;
  int64_t splits = (target + tiles - 1) / tiles;
  int64_t max_splits = chunks / 8 > 1 ? chunks / 8 : 1;
  if (splits > max_splits) splits = max_splits;
  if (splits < 1) splits = 1;
  const int per_split = (int)((chunks + splits - 1) / splits);
  p.splits = (chunks + per_split - 1) / per_split;
  p.k_per_split = per_split * chunk;
  return p;
}

size_t gust_skinny_partials_bytes(const LinearJob &job, const SkinnyPlan &plan) {
  return plan.splits > 1 ? (size_t)plan.splits * job.T * job.N * sizeof(float) : 0;
}

int32_t gust_linear_skinny(const LinearJob &job, const SkinnyPlan &plan, float *partials) {
  const bool fp8 = job.dtype == GUST_DTYPE_F8_E4M3;
  const size_t row_bytes = (size_t)job.K * (fp8 ? 1 : 2);
  const bool w_vec = row_bytes % 16 == 0 && ((uintptr_t)job.w & 15) == 0;
  const bool x_vec = job.K % 4 == 0 && ((uintptr_t)job.x & 15) == 0;
  SkinnyArgs args;
  args.y = job.y;
  args.w = (const uint8_t *)job.w;
  args.xq = job.xq;
  args.x = job.x;
  args.xq_stride = job.xq_stride;
  args.T = job.T;
  args.N = job.N;
  args.K = job.K;
  args.splits = plan.splits;
  args.k_per_split = plan.k_per_split;
  args.m1 = job.m1;
  args.m2 = job.m2;
  args.partials = partials;
  args.counters = NULL;
  if (plan.splits > 1)
    GUST_TRY(gust_counters("gust_linear", (size_t)plan.row_tiles * plan.token_tiles, &args.counters));
  dim3 grid(plan.row_tiles, plan.splits, plan.token_tiles);
  if (fp8) {
    if (w_vec) launch_nt<true, true, false>(args, grid, plan.n_tiles);
    else launch_nt<true, false, false>(args, grid, plan.n_tiles);
  } else if (w_vec) {
    if (x_vec) launch_nt<false, true, true>(args, grid, plan.n_tiles);
    else launch_nt<false, true, false>(args, grid, plan.n_tiles);
  } else {
    if (x_vec) launch_nt<false, false, true>(args, grid, plan.n_tiles);
    else launch_nt<false, false, false>(args, grid, plan.n_tiles);
  }
  return gust_after_launch("gust_linear (skinny tensor-core kernel)");
}
