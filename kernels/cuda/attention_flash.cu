/* FlashAttention-2-style causal prefill over the paged KV cache on bf16 tensor cores (mma.sync m16n8k16,
 * f32 accumulators). Selected per call only where GUST_CUDA_ATTENTION=flash is set (attention_plan.cu);
 * attention_prefill.cu's f32 FFMA kernel stays the default and this kernel's spec is the CPU backend.
 *
 * Block (tile, KV head g): the planning kernel's 64 flattened queries f = row_in_seq · G + head_in_group
 * (attention.cuh), so every K/V tile loaded serves all the G query heads of KV head g in the tile. Warp w
 * owns queries 16w .. 16w + 15 (the A operand's 16 rows); Q stays in registers as bf16 A fragments.
 * Keys stream 64 at a time through two shared-memory stages: the next tile's copy is in flight (cp.async
 * for a bf16 cache whose head_dim is a multiple of 8) while this one's mmas run. f32 and e4m3 caches (and
 * odd head dims) are converted to bf16 in registers on the way in, synchronously.
 *
 * Per tile and warp: S = Q·Kᵀ (16 × 64, f32, 8 n8 tiles), masked where key ≥ visible(row), online
 * softmax in the log2 domain (m, l per row; l stays a per-lane partial sum until the end, since every
 * lane of a row scales by the same α), P rounded to bf16 straight from the S registers into A fragments
 * (attention_flash_map.cuh), O += P·V (16 × DP). Index maps with worked examples: attention_flash_map.cuh.
 *
 * Head dims up to 128 run padded with zeros to DP ∈ {64, 128}. Numerics: Q, K, V and P are rounded to
 * bf16 (2^-9 relative), accumulation is f32; budget in test/gpu/attention-flash.test.ts. */
#include <math.h>

#include <type_traits>

#include "../bf16.h"
#include "attention.cuh"
#include "attention_flash_map.cuh"

namespace {

constexpr int kWarps = 4, kThreads = 32 * kWarps, kKeys = 64;
static_assert(kWarps * 16 == kPrefillQueries, "one m16 slice per warp covers the planner's tile");

template <int DP>
constexpr size_t flash_smem_bytes() {
  return (size_t)2 * 2 * kKeys * flash_smem_stride(DP) * sizeof(uint16_t); /* [stage][K, V][key][SS] */
}

__device__ inline uint32_t pack_bf16(float lo, float hi) {
  return (uint32_t)gust_bf16_encode(lo) | ((uint32_t)gust_bf16_encode(hi) << 16);
}

__device__ inline void mma_bf16(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

/* 16 bytes global → shared; src_size 0 writes zeros (keys past the end, padding dims, bad block ids) */
__device__ inline void copy16_async(void *smem, const void *gmem, bool valid) {
  const uint32_t dst = (uint32_t)__cvta_generic_to_shared(smem);
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(gmem), "r"(valid ? 16 : 0));
}
__device__ inline void async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ inline void async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

/* Keys k0 .. k0 + 63 into one stage as bf16 rows [key][SS]; zeros past key_end and past head_dim. */
template <class KV, int DP, bool ASYNC>
__device__ void load_tile(const KV &kv, uint16_t *ks, uint16_t *vs, int32_t s, int32_t g, int32_t k0,
                          int32_t key_end) {
  constexpr int SS = flash_smem_stride(DP);
  const int32_t D = kv.head_dim;
  if constexpr (ASYNC) { /* bf16 cache, D % 8 == 0: 16-byte chunks of 8 elements */
    const uint16_t *kg = (const uint16_t *)kv.k, *vg = (const uint16_t *)kv.v;
    for (int i = threadIdx.x; i < kKeys * (DP / 8); i += kThreads) {
      const int key = i / (DP / 8), d = (i % (DP / 8)) * 8;
      const int64_t off = k0 + key < key_end ? kv.row(s, 0, k0 + key, g) : -1;
      const bool ok = off >= 0 && d < D;
      copy16_async(ks + key * SS + d, ok ? kg + off + d : kg, ok);
      copy16_async(vs + key * SS + d, ok ? vg + off + d : vg, ok);
    }
  } else { /* f32 / e4m3 / odd head dims: 4 elements at a time through registers, converted to bf16 */
    const bool vec = (D & 3) == 0;
    for (int i = threadIdx.x; i < kKeys * (DP / 4); i += kThreads) {
      const int key = i / (DP / 4), d = (i % (DP / 4)) * 4;
      const int64_t off = k0 + key < key_end ? kv.row(s, 0, k0 + key, g) : -1;
      float k4[4] = {0.f, 0.f, 0.f, 0.f}, v4[4] = {0.f, 0.f, 0.f, 0.f};
      if (off >= 0 && vec && d < D) {
        const float4 a = kv.k4(off + d), b = kv.v4(off + d);
        k4[0] = a.x, k4[1] = a.y, k4[2] = a.z, k4[3] = a.w;
        v4[0] = b.x, v4[1] = b.y, v4[2] = b.z, v4[3] = b.w;
      } else if (off >= 0) {
#pragma unroll
        for (int e = 0; e < 4; e++)
          if (d + e < D) k4[e] = kv.kx(off + d + e), v4[e] = kv.vx(off + d + e);
      }
      *(uint2 *)(ks + key * SS + d) = make_uint2(pack_bf16(k4[0], k4[1]), pack_bf16(k4[2], k4[3]));
      *(uint2 *)(vs + key * SS + d) = make_uint2(pack_bf16(v4[0], v4[1]), pack_bf16(v4[2], v4[3]));
    }
  }
}

template <class KV, int DP, bool ASYNC>
__global__ void __launch_bounds__(kThreads) flash_kernel(AttnShape sh, AttnBatch b, AttnWork w, KV kv) {
  constexpr int SS = flash_smem_stride(DP), KS = DP / 16, ND = DP / 8, NT = kKeys / 8;
  extern __shared__ __align__(16) uint16_t smem[];
  /* blocks start in blockIdx order: the list's last tiles (a sequence's last rows, the most keys) go first,
   * so the short causal tiles fill in behind them instead of leaving a tail of long ones */
  const int32_t tile = w.counts[1] - 1 - (int32_t)blockIdx.x;
  if (tile < 0) return;
  const int2 te = w.tiles[tile];
  const int32_t s = te.x, f0 = te.y, g = blockIdx.y;
  const int32_t r0 = b.starts[s], n = b.starts[s + 1] - r0, kv_len = b.kv_lens[s];
  const int32_t G = sh.group, D = sh.head_dim, H = sh.num_heads;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const float scale_log2 = sh.scale * 1.4426950408889634f; /* exp(x) = 2^(x · log2 e) */

  /* this lane's two query rows (group, group + 8 of the warp's 16) and what each sees */
  int32_t visible[2];
  int64_t q_at[2]; /* element offset of the row's query vector, −1 for padding queries */
#pragma unroll
  for (int half = 0; half < 2; half++) {
    const FlashRC jh = flash_query(f0, 16 * warp + lane / 4 + 8 * half, G);
    visible[half] = flash_visible(kv_len, n, jh.row);
    q_at[half] = jh.row < n ? ((int64_t)(r0 + jh.row) * H + g * G + jh.col) * D : -1;
  }
  uint32_t qa[KS][4];
#pragma unroll
  for (int kk = 0; kk < KS; kk++)
#pragma unroll
    for (int r = 0; r < 4; r++) {
      float x[2];
#pragma unroll
      for (int h = 0; h < 2; h++) {
        const FlashRC rc = flash_mma_a(lane, r, h);
        const int64_t at = q_at[rc.row / 8];
        const int d = 16 * kk + rc.col;
        x[h] = at >= 0 && d < D ? sh.q[at + d] : 0.0f;
      }
      qa[kk][r] = pack_bf16(x[0], x[1]);
    }

  float o[ND][4], m_run[2] = {-INFINITY, -INFINITY}, l_run[2] = {0.f, 0.f};
#pragma unroll
  for (int nd = 0; nd < ND; nd++) o[nd][0] = o[nd][1] = o[nd][2] = o[nd][3] = 0.0f;

  const int32_t key_end = flash_key_end(f0, kPrefillQueries, G, n, kv_len);
  const int32_t tiles = (key_end + kKeys - 1) / kKeys;
  auto stage_k = [&](int t) { return smem + (t & 1) * 2 * kKeys * SS; };
  if (tiles > 0) load_tile<KV, DP, ASYNC>(kv, stage_k(0), stage_k(0) + kKeys * SS, s, g, 0, key_end);
  async_commit();

  for (int32_t t = 0; t < tiles; t++) {
    if (t + 1 < tiles) {
      uint16_t *nk = stage_k(t + 1);
      load_tile<KV, DP, ASYNC>(kv, nk, nk + kKeys * SS, s, g, (t + 1) * kKeys, key_end);
      async_commit();
      async_wait<1>();
    } else {
      async_wait<0>();
    }
    __syncthreads();
    const uint16_t *ks = stage_k(t), *vs = ks + kKeys * SS;
    const int32_t k0 = t * kKeys;

    float sc[NT][4];
#pragma unroll
    for (int nt = 0; nt < NT; nt++) {
      sc[nt][0] = sc[nt][1] = sc[nt][2] = sc[nt][3] = 0.0f;
#pragma unroll
      for (int kk = 0; kk < KS; kk++) {
        const uint32_t b0 = *(const uint32_t *)(ks + flash_k_frag(lane, nt, kk, 0, SS));
        mma_bf16(sc[nt], qa[kk], b0, *(const uint32_t *)(ks + flash_k_frag(lane, nt, kk, 1, SS)));
      }
    }

    float alpha[2];
#pragma unroll
    for (int half = 0; half < 2; half++) {
      float mx = -INFINITY;
#pragma unroll
      for (int nt = 0; nt < NT; nt++)
#pragma unroll
        for (int e = 0; e < 2; e++) {
          const int key = k0 + 8 * nt + flash_mma_c(lane, 2 * half + e).col;
          float &x = sc[nt][2 * half + e];
          x = key < visible[half] ? x * scale_log2 : -INFINITY;
          mx = fmaxf(mx, x);
        }
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1)); /* the 4 lanes of a quad share the row */
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
      const float m_new = fmaxf(m_run[half], mx);
      const float ref = m_new == -INFINITY ? 0.0f : m_new; /* a row with nothing visible yet stays at 0 */
      alpha[half] = exp2f(m_run[half] - ref);
      float sum = 0.0f;
#pragma unroll
      for (int nt = 0; nt < NT; nt++)
#pragma unroll
        for (int e = 0; e < 2; e++) {
          float &x = sc[nt][2 * half + e];
          x = exp2f(x - ref);
          sum += x;
        }
      l_run[half] = l_run[half] * alpha[half] + sum;
      m_run[half] = m_new;
    }
#pragma unroll
    for (int nd = 0; nd < ND; nd++) {
      o[nd][0] *= alpha[0], o[nd][1] *= alpha[0];
      o[nd][2] *= alpha[1], o[nd][3] *= alpha[1];
    }

#pragma unroll
    for (int kk = 0; kk < kKeys / 16; kk++) {
      uint32_t pa[4];
#pragma unroll
      for (int r = 0; r < 4; r++) {
        const FlashRC lo = flash_p_from_scores(r, 0), hi = flash_p_from_scores(r, 1);
        pa[r] = pack_bf16(sc[2 * kk + lo.row][lo.col], sc[2 * kk + hi.row][hi.col]);
      }
#pragma unroll
      for (int nd = 0; nd < ND; nd++) { /* two keys per register: two 16-bit loads (ldmatrix.trans: later) */
        uint32_t bv[2];
#pragma unroll
        for (int r = 0; r < 2; r++)
          bv[r] = (uint32_t)vs[flash_v_frag(lane, kk, nd, r, 0, SS)] | ((uint32_t)vs[flash_v_frag(lane, kk, nd, r, 1, SS)] << 16);
        mma_bf16(o[nd], pa, bv[0], bv[1]);
      }
    }
    __syncthreads(); /* this stage is read; the next iteration's copy may overwrite it */
  }

#pragma unroll
  for (int half = 0; half < 2; half++) {
    float l = l_run[half];
    l += __shfl_xor_sync(0xffffffffu, l, 1);
    l += __shfl_xor_sync(0xffffffffu, l, 2);
    if (q_at[half] < 0) continue;
    float *dst = sh.out + q_at[half];
#pragma unroll
    for (int nd = 0; nd < ND; nd++)
#pragma unroll
      for (int e = 0; e < 2; e++) {
        const int d = 8 * nd + flash_mma_c(lane, 2 * half + e).col;
        if (d < D) dst[d] = o[nd][2 * half + e] / l;
      }
  }
}

template <class KV, int DP, bool ASYNC>
int32_t launch(const AttnShape &sh, const AttnBatch &b, const AttnWork &w, const KV &kv, const char *op) {
  constexpr size_t smem = flash_smem_bytes<DP>();
  static bool configured = false;
  if (!configured) {
    GUST_CUDA_TRY(op, "raising the flash kernel's shared-memory limit",
                  cudaFuncSetAttribute(flash_kernel<KV, DP, ASYNC>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                       (int)smem));
    configured = true;
  }
  flash_kernel<KV, DP, ASYNC><<<dim3(w.tile_cap, sh.num_kv_heads), kThreads, smem, g_cuda.stream>>>(sh, b, w, kv);
  return gust_after_launch(op);
}

template <class KV, int DP>
int32_t with_copy(const AttnShape &sh, const AttnBatch &b, const AttnWork &w, const KV &kv, const char *op) {
  if constexpr (std::is_same<KV, PagedKvOf<KvBf16>>::value) /* cp.async copies whole 16-byte chunks */
    if (sh.head_dim % 8 == 0) return launch<KV, DP, true>(sh, b, w, kv, op);
  return launch<KV, DP, false>(sh, b, w, kv, op);
}

} /* namespace */

/* read per call (prefill only), so a test can switch it between calls */
bool gust_flash_attention_requested(void) { return gust_env_is("GUST_CUDA_ATTENTION", "flash"); }

int32_t gust_attention_flash_paged(const AttnShape &sh, const AttnBatch &b, const AttnWork &w, const PagedKv &kv,
                                   const char *op) {
  return gust_with_kv_format(kv, [&](const auto &typed) {
    using KV = std::decay_t<decltype(typed)>;
    return sh.head_dim <= 64 ? with_copy<KV, 64>(sh, b, w, typed, op) : with_copy<KV, 128>(sh, b, w, typed, op);
  });
}
