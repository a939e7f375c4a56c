/* FlashAttention-style attention for sequences with many query rows (prefill, chunked prefill, the
 * vision tower's segments). No score matrix is stored: each block streams its sequence's keys through
 * shared memory 32 at a time and keeps a running max, sum and output per query (online softmax).
 *
 * Block (tile, KV head g): 64 queries, flattened f = row_in_seq · G + head_in_group from the tile's f0, so
 * a tile mixes rows and the G query heads of KV head g and every K/V tile loaded serves all of them.
 * Example, G = 12, f0 = 64: queries 64..127 are rows 5..10 of the sequence (f / 12), heads 4..11 of row 5,
 * all 12 heads of rows 6..9 and heads 0..7 of row 10.
 *
 * Thread layout (128 threads): mg = tid / 8 owns queries mg + 16i (i < 4); kg = tid % 8 owns keys kg + 8j
 * (j < 4) of each 32-key tile for the scores, and output dims 4·kg + 32c + e for P·V. The 8 threads of a
 * query group sit in one warp, so the row max and sum are 3 shuffles and the per-row rescale factor is
 * already in the registers that need it. Key rows are strided by 8 so the 8 lanes of a shared-load phase
 * hit distinct banks (row stride DP + 4 floats).
 *
 * Head dims up to 128 run padded to DP ∈ {32, 64, 128} with zeros (a zero adds nothing to a dot
 * product). FFMA on f32, like the CPU reference; tensor cores (split-bf16 or tf32x3) are the next step. */
#include <math.h>

#include "attention.cuh"

namespace {

constexpr int kThreads = 128, kQ = kPrefillQueries, kKeys = 32, kPS = kKeys + 4;

template <int DP>
constexpr size_t prefill_smem_bytes() {
  return (size_t)(kQ * (DP + 4) + 2 * kKeys * (DP + 4) + kQ * kPS) * sizeof(float);
}

template <class KV, int DP>
__global__ void __launch_bounds__(kThreads, 1) prefill_kernel(AttnShape sh, AttnBatch b, AttnWork w, KV kv) {
  constexpr int QS = DP + 4, C = DP / 32;
  extern __shared__ __align__(16) float sm[];
  float *Qs = sm, *Ks = Qs + kQ * QS, *Vs = Ks + kKeys * QS, *Ps = Vs + kKeys * QS;
  __shared__ int64_t key_off[kKeys]; /* float offset of each tile key's K/V row, −1 past the end */
  const int32_t tile = blockIdx.x;
  if (tile >= w.counts[1]) return;
  const int2 te = w.tiles[tile];
  const int32_t s = te.x, f0 = te.y, g = blockIdx.y;
  const int32_t r0 = b.starts[s], n = b.starts[s + 1] - r0;
  const int32_t kv_len = KV::causal ? b.kv_lens[s] : n;
  const int32_t G = sh.group, D = sh.head_dim, H = sh.num_heads;
  const int tid = threadIdx.x, mg = tid >> 3, kg = tid & 7;

  for (int i = tid; i < kQ * DP; i += kThreads) {
    const int m = i / DP, d = i % DP, f = f0 + m, j = f / G;
    Qs[m * QS + d] = (j < n && d < D) ? sh.q[((int64_t)(r0 + j) * H + g * G + f % G) * D + d] : 0.0f;
  }
  int32_t visible[4];
#pragma unroll
  for (int i = 0; i < 4; i++) {
    const int j = (f0 + mg + 16 * i) / G;
    visible[i] = j < n ? attn_visible_keys(KV::causal, kv_len, n, j) : 0; /* padding queries see nothing */
  }
  const int32_t last_f = min(f0 + kQ, n * G) - 1;
  const int32_t key_end = attn_visible_keys(KV::causal, kv_len, n, last_f / G); /* the tile's last row sees most */

  float m_run[4], l_run[4], o[4][C][4];
#pragma unroll
  for (int i = 0; i < 4; i++) {
    m_run[i] = -INFINITY;
    l_run[i] = 0.0f;
#pragma unroll
    for (int c = 0; c < C; c++) o[i][c][0] = o[i][c][1] = o[i][c][2] = o[i][c][3] = 0.0f;
  }
  const bool vec = (D & 3) == 0;

  for (int32_t k0 = 0; k0 < key_end; k0 += kKeys) {
    __syncthreads(); /* the previous tile's P·V is done (and the Q tile is written) before overwriting */
    if (tid < kKeys) key_off[tid] = k0 + tid < key_end ? kv.row(s, r0, k0 + tid, g) : -1; /* −1: zeros */
    __syncthreads();
    if (vec) {
      for (int i = tid; i < kKeys * (DP / 4); i += kThreads) {
        const int kk = i / (DP / 4), d = (i % (DP / 4)) * 4;
        const int64_t off = key_off[kk];
        float4 k4 = make_float4(0.f, 0.f, 0.f, 0.f), v4 = k4;
        if (off >= 0 && d < D) {
          k4 = kv.k4(off + d);
          v4 = kv.v4(off + d);
        }
        *(float4 *)(Ks + kk * QS + d) = k4;
        *(float4 *)(Vs + kk * QS + d) = v4;
      }
    } else {
      for (int i = tid; i < kKeys * DP; i += kThreads) {
        const int kk = i / DP, d = i % DP;
        const int64_t off = key_off[kk];
        float kx = 0.0f, vx = 0.0f;
        if (off >= 0 && d < D) {
          kx = kv.kx(off + d);
          vx = kv.vx(off + d);
        }
        Ks[kk * QS + d] = kx;
        Vs[kk * QS + d] = vx;
      }
    }
    __syncthreads();

    float sc[4][4];
#pragma unroll
    for (int i = 0; i < 4; i++) sc[i][0] = sc[i][1] = sc[i][2] = sc[i][3] = 0.0f;
#pragma unroll 4
    for (int d = 0; d < DP; d += 4) {
      float4 q4[4], k4[4];
#pragma unroll
      for (int i = 0; i < 4; i++) q4[i] = *(const float4 *)(Qs + (mg + 16 * i) * QS + d);
#pragma unroll
      for (int j = 0; j < 4; j++) k4[j] = *(const float4 *)(Ks + (kg + 8 * j) * QS + d);
#pragma unroll
      for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++)
          sc[i][j] = fmaf(q4[i].w, k4[j].w, fmaf(q4[i].z, k4[j].z, fmaf(q4[i].y, k4[j].y, fmaf(q4[i].x, k4[j].x, sc[i][j]))));
    }

#pragma unroll
    for (int i = 0; i < 4; i++) {
      float mx = -INFINITY;
#pragma unroll
      for (int j = 0; j < 4; j++) {
        sc[i][j] = k0 + kg + 8 * j < visible[i] ? sc[i][j] * sh.scale : -INFINITY;
        mx = fmaxf(mx, sc[i][j]);
      }
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 4));
      const float m_new = fmaxf(m_run[i], mx);
      const float ref = m_new == -INFINITY ? 0.0f : m_new; /* a query with nothing visible yet stays at 0 */
      const float alpha = expf(m_run[i] - ref);
      float sum = 0.0f;
#pragma unroll
      for (int j = 0; j < 4; j++) {
        const float p = expf(sc[i][j] - ref);
        Ps[(mg + 16 * i) * kPS + kg + 8 * j] = p;
        sum += p;
      }
      sum += __shfl_xor_sync(0xffffffffu, sum, 1);
      sum += __shfl_xor_sync(0xffffffffu, sum, 2);
      sum += __shfl_xor_sync(0xffffffffu, sum, 4);
      l_run[i] = l_run[i] * alpha + sum;
      m_run[i] = m_new;
#pragma unroll
      for (int c = 0; c < C; c++) {
        o[i][c][0] *= alpha;
        o[i][c][1] *= alpha;
        o[i][c][2] *= alpha;
        o[i][c][3] *= alpha;
      }
    }
    __syncthreads();

#pragma unroll 2
    for (int kk = 0; kk < kKeys; kk += 4) {
      float4 p4[4];
#pragma unroll
      for (int i = 0; i < 4; i++) p4[i] = *(const float4 *)(Ps + (mg + 16 * i) * kPS + kk);
#pragma unroll
      for (int x = 0; x < 4; x++) {
#pragma unroll
        for (int c = 0; c < C; c++) {
          const float4 v4 = *(const float4 *)(Vs + (kk + x) * QS + 4 * kg + 32 * c);
#pragma unroll
          for (int i = 0; i < 4; i++) {
            const float p = x == 0 ? p4[i].x : x == 1 ? p4[i].y : x == 2 ? p4[i].z : p4[i].w;
            o[i][c][0] = fmaf(p, v4.x, o[i][c][0]);
            o[i][c][1] = fmaf(p, v4.y, o[i][c][1]);
            o[i][c][2] = fmaf(p, v4.z, o[i][c][2]);
            o[i][c][3] = fmaf(p, v4.w, o[i][c][3]);
          }
        }
      }
    }
  }

#pragma unroll
  for (int i = 0; i < 4; i++) {
    const int f = f0 + mg + 16 * i, j = f / G;
    if (j >= n) continue;
    float *dst = sh.out + ((int64_t)(r0 + j) * H + g * G + f % G) * D;
#pragma unroll
    for (int c = 0; c < C; c++)
#pragma unroll
      for (int e = 0; e < 4; e++) {
        const int d = 4 * kg + 32 * c + e;
        if (d < D) dst[d] = o[i][c][e] / l_run[i];
      }
  }
}

template <class KV, int DP>
int32_t launch(const AttnShape &sh, const AttnBatch &b, const AttnWork &w, const KV &kv, const char *op) {
  constexpr size_t smem = prefill_smem_bytes<DP>();
  static bool configured = false;
  if (!configured) {
    GUST_CUDA_TRY(op, "raising the prefill kernel's shared-memory limit",
                  cudaFuncSetAttribute(prefill_kernel<KV, DP>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
    configured = true;
  }
  prefill_kernel<KV, DP><<<dim3(w.tile_cap, sh.num_kv_heads), kThreads, smem, g_cuda.stream>>>(sh, b, w, kv);
  return gust_after_launch(op);
}

template <class KV>
int32_t dispatch(const AttnShape &sh, const AttnBatch &b, const AttnWork &w, const KV &kv, const char *op) {
  if (sh.head_dim <= 32) return launch<KV, 32>(sh, b, w, kv, op);
  if (sh.head_dim <= 64) return launch<KV, 64>(sh, b, w, kv, op);
  return launch<KV, 128>(sh, b, w, kv, op); /* the planner sends only head_dim ≤ 128 here */
}

} /* namespace */

int32_t gust_attention_prefill_paged(const AttnShape &sh, const AttnBatch &b, const AttnWork &w, const PagedKv &kv,
                                     const char *op) {
  return gust_with_kv_format(kv, [&](const auto &typed) { return dispatch(sh, b, w, typed, op); });
}

int32_t gust_attention_prefill_dense(const AttnShape &sh, const AttnBatch &b, const AttnWork &w, const DenseKv &kv,
                                     const char *op) {
  return dispatch(sh, b, w, kv, op);
}
