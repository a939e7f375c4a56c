/* Flash-decoding: attention for rows of short sequences (decode steps), split over the context.
 *
 * Block (item, KV head g · head chunk, split): one query row, the up-to-16 query heads of KV head g it
 * owns, and one slice of that row's visible keys. Decode reads every K/V byte once per KV head, so the
 * heads sharing it (12 for the real model's 96/8) are computed together and the whole cost is the cache
 * read; splitting the context gives a 64k-token row hundreds of blocks instead of eight.
 *
 * Per 128-key sub-chunk (4 warps × 32 keys):
 *  1. each warp copies its 32 keys' K rows into a private shared tile with coalesced 16-byte loads;
 *  2. lane = key: each lane dots its key with the group's queries (broadcast shared reads), scores → smem;
 *  3. per head, the running max/sum are updated (online softmax across sub-chunks; exact two-pass within
 *     one), scores become exp(s − m);
 *  4. thread = output dim: acc[h][d] = acc·α + Σ_keys e[key][h] · V[key][d], V read coalesced from global.
 * With several splits the partial (m, l, acc) go to scratch and merge_kernel combines them:
 *   out = Σ_s e^(m_s − M) acc_s / Σ_s e^(m_s − M) l_s,   M = max_s m_s over non-empty splits. */
#include <math.h>

#include <type_traits>

#include "attention.cuh"

namespace {

constexpr int kThreads = 128, kWarps = 4, kSub = 128, kHeads = 16;

struct DecodeArgs {
  AttnShape sh;
  AttnBatch b;
  AttnWork w;
  AttnPartials p;
  int32_t head_chunks;
  int32_t ks; /* shared row stride (floats) of q and k tiles: D + 4 (16-byte rows) or D + 1 (odd D) */
};

size_t decode_smem_bytes(int32_t ks) {
  return (size_t)(kHeads * ks + kWarps * 32 * ks + kSub * kHeads + 3 * kHeads) * sizeof(float) + kSub * sizeof(int64_t);
}

template <class KV, int DPT>
__global__ void __launch_bounds__(kThreads) decode_kernel(DecodeArgs a, KV kv) {
  extern __shared__ __align__(16) float sm[];
  const int32_t item = blockIdx.x;
  if (item >= a.w.counts[0]) return;
  const int2 rs = a.w.decode_items[item];
  const int32_t row = rs.x, s = rs.y;
  const int32_t r0 = a.b.starts[s], n = a.b.starts[s + 1] - r0;
  const int32_t kv_len = KV::causal ? a.b.kv_lens[s] : n;
  const int32_t nk = attn_visible_keys(KV::causal, kv_len, n, row - r0);
  const int32_t G = a.sh.group, D = a.sh.head_dim, H = a.sh.num_heads, KS = a.ks;
  const int32_t g = blockIdx.y / a.head_chunks, h0 = (blockIdx.y % a.head_chunks) * kHeads;
  const int32_t GC = min(kHeads, G - h0), head_base = g * G + h0; /* query heads head_base .. + GC − 1 */
  const int32_t splits = a.p.splits, split = blockIdx.z;
  /* split ranges: e.g. nk = 1000, 4 splits → 250 per split, rounded to 256: [0,256) [256,512) [512,768) [768,1000) */
  const int32_t per = ((nk + splits - 1) / splits + 31) / 32 * 32;
  const int32_t lo = split * per, hi = min(nk, lo + per);

  float *q_s = sm;                          /* [kHeads][KS] */
  float *k_s = q_s + kHeads * KS;           /* [kWarps][32][KS] */
  float *sc_s = k_s + kWarps * 32 * KS;     /* [kSub][kHeads]: scores, then exp weights */
  float *m_s = sc_s + kSub * kHeads, *l_s = m_s + kHeads, *alpha_s = l_s + kHeads;
  int64_t *slot_s = (int64_t *)(alpha_s + kHeads); /* [kSub]: float offset of each key's row, −1 if none */
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const bool vec = (D & 3) == 0;

  for (int i = tid; i < GC * D; i += kThreads)
    q_s[(i / D) * KS + i % D] = a.sh.q[((int64_t)row * H + head_base + i / D) * D + i % D];
  if (tid < kHeads) {
    m_s[tid] = -INFINITY;
    l_s[tid] = 0.0f;
  }
  float acc[kHeads][DPT];
#pragma unroll
  for (int h = 0; h < kHeads; h++)
#pragma unroll
    for (int dd = 0; dd < DPT; dd++) acc[h][dd] = 0.0f;
  __syncthreads();

  for (int32_t base = lo; base < hi; base += kSub) {
    /* 1. this warp's 32 keys into its private tile (rows of keys past hi, or with a bad block, are zero) */
    float *kt = k_s + warp * 32 * KS;
    const int32_t wbase = base + warp * 32;
    /* each lane looks up one key's row (block table, division) and the warp shares them by shuffle */
    const int64_t lane_off = wbase + lane < hi ? kv.row(s, r0, wbase + lane, g) : -1;
    slot_s[warp * 32 + lane] = lane_off;
#pragma unroll 4
    for (int kk = 0; kk < 32; kk++) {
      const int64_t off = __shfl_sync(0xffffffffu, lane_off, kk);
      if (vec) {
        for (int d4 = lane; d4 < D / 4; d4 += 32)
          *(float4 *)(kt + kk * KS + 4 * d4) = off >= 0 ? kv.k4(off + 4 * d4) : make_float4(0.f, 0.f, 0.f, 0.f);
      } else {
        for (int d = lane; d < D; d += 32) kt[kk * KS + d] = off >= 0 ? kv.kx(off + d) : 0.0f;
      }
    }
    __syncwarp();
    /* 2. lane = key: dot with each query head, in d order like the CPU loop */
    {
      float sc[kHeads];
#pragma unroll
      for (int h = 0; h < kHeads; h++) sc[h] = 0.0f;
      const float *kr = kt + lane * KS;
      if (vec) {
        for (int d = 0; d < D; d += 4) {
          const float4 k4 = *(const float4 *)(kr + d);
#pragma unroll
          for (int h = 0; h < kHeads; h++) {
            if (h < GC) {
              const float4 q4 = *(const float4 *)(q_s + h * KS + d);
              sc[h] = fmaf(q4.w, k4.w, fmaf(q4.z, k4.z, fmaf(q4.y, k4.y, fmaf(q4.x, k4.x, sc[h]))));
            }
          }
        }
      } else {
        for (int d = 0; d < D; d++) {
          const float kd = kr[d];
#pragma unroll
          for (int h = 0; h < kHeads; h++)
            if (h < GC) sc[h] = fmaf(q_s[h * KS + d], kd, sc[h]);
        }
      }
      const bool valid = wbase + lane < hi && slot_s[warp * 32 + lane] >= 0;
#pragma unroll
      for (int h = 0; h < kHeads; h++)
        sc_s[(warp * 32 + lane) * kHeads + h] = h < GC ? (valid ? sc[h] * a.sh.scale : -INFINITY) : 0.0f;
    }
    __syncthreads();
    /* 3. online softmax per head: warp w owns heads w, w + 4, ... */
    for (int h = warp; h < GC; h += kWarps) {
      float mx = -INFINITY;
      for (int kk = lane; kk < kSub; kk += 32) mx = fmaxf(mx, sc_s[kk * kHeads + h]);
      for (int off = 16; off > 0; off >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, off));
      const float m_old = m_s[h], m_new = fmaxf(m_old, mx);
      const float ref = m_new == -INFINITY ? 0.0f : m_new; /* all keys masked so far: keep weights 0, not NaN */
      float sum = 0.0f;
      for (int kk = lane; kk < kSub; kk += 32) {
        const float e = expf(sc_s[kk * kHeads + h] - ref);
        sc_s[kk * kHeads + h] = e;
        sum += e;
      }
      for (int off = 16; off > 0; off >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, off);
      __syncwarp();
      if (lane == 0) {
        const float alpha = expf(m_old - ref);
        alpha_s[h] = alpha;
        l_s[h] = l_s[h] * alpha + sum;
        m_s[h] = m_new;
      }
    }
    __syncthreads();
    /* 4. thread = output dim d (and d + 128): rescale, then accumulate e · V over the sub-chunk's keys */
#pragma unroll
    for (int h = 0; h < kHeads; h++) {
      const float alpha = h < GC ? alpha_s[h] : 1.0f;
#pragma unroll
      for (int dd = 0; dd < DPT; dd++) acc[h][dd] *= alpha;
    }
    const int nkeys = min(kSub, hi - base);
#pragma unroll 4
    for (int kk = 0; kk < nkeys; kk++) {
      const int64_t off = slot_s[kk];
      if (off < 0) continue;
      float vv[DPT];
#pragma unroll
      for (int dd = 0; dd < DPT; dd++) {
        const int d = tid + dd * kThreads;
        vv[dd] = d < D ? kv.vx(off + d) : 0.0f;
      }
      const float4 *e4 = (const float4 *)(sc_s + kk * kHeads);
#pragma unroll
      for (int q = 0; q < kHeads / 4; q++) {
        const float4 e = e4[q];
#pragma unroll
        for (int dd = 0; dd < DPT; dd++) {
          acc[4 * q][dd] = fmaf(e.x, vv[dd], acc[4 * q][dd]);
          acc[4 * q + 1][dd] = fmaf(e.y, vv[dd], acc[4 * q + 1][dd]);
          acc[4 * q + 2][dd] = fmaf(e.z, vv[dd], acc[4 * q + 2][dd]);
          acc[4 * q + 3][dd] = fmaf(e.w, vv[dd], acc[4 * q + 3][dd]);
        }
      }
    }
    __syncthreads(); /* the next sub-chunk overwrites the tiles, scores and slots */
  }

  /* 5. finished row (one split) or partial results for merge_kernel */
#pragma unroll
  for (int h = 0; h < kHeads; h++) {
    if (h >= GC) continue;
    const int64_t part = ((int64_t)item * H + head_base + h) * splits + split;
#pragma unroll
    for (int dd = 0; dd < DPT; dd++) {
      const int d = tid + dd * kThreads;
      if (d >= D) continue;
      if (splits == 1) a.sh.out[((int64_t)row * H + head_base + h) * D + d] = acc[h][dd] / l_s[h];
      else a.p.acc[part * D + d] = acc[h][dd];
    }
    if (splits > 1 && tid == 0) {
      a.p.m[part] = m_s[h];
      a.p.l[part] = l_s[h];
    }
  }
}

/* Block (item, head): combines the splits of one row and head; empty splits (l = 0) weigh nothing. */
__global__ void __launch_bounds__(kThreads) merge_kernel(AttnShape sh, AttnWork w, AttnPartials p) {
  __shared__ float weight[256];
  __shared__ float total;
  const int32_t item = blockIdx.x, h = blockIdx.y;
  if (item >= w.counts[0]) return;
  const int32_t row = w.decode_items[item].x, D = sh.head_dim, splits = p.splits;
  const int64_t base = ((int64_t)item * sh.num_heads + h) * splits;
  if (threadIdx.x == 0) {
    float m = -INFINITY;
    for (int s = 0; s < splits; s++)
      if (p.l[base + s] > 0.0f) m = fmaxf(m, p.m[base + s]);
    float l = 0.0f;
    for (int s = 0; s < splits; s++) {
      weight[s] = p.l[base + s] > 0.0f ? expf(p.m[base + s] - m) : 0.0f;
      l += weight[s] * p.l[base + s];
    }
    total = l;
  }
  __syncthreads();
  for (int d = threadIdx.x; d < D; d += blockDim.x) {
    float o = 0.0f;
    for (int s = 0; s < splits; s++)
      if (weight[s] != 0.0f) o += weight[s] * p.acc[(base + s) * D + d];
    sh.out[((int64_t)row * sh.num_heads + h) * D + d] = o / total;
  }
}

template <class KV, int DPT>
int32_t launch(const AttnShape &sh, const AttnBatch &b, const AttnWork &w, const AttnPartials &p, const KV &kv,
               const char *op) {
  DecodeArgs a;
  a.sh = sh;
  a.b = b;
  a.w = w;
  a.p = p;
  a.head_chunks = (sh.group + kHeads - 1) / kHeads;
  a.ks = (sh.head_dim & 3) == 0 ? sh.head_dim + 4 : sh.head_dim + 1;
  const size_t smem = decode_smem_bytes(a.ks);
  if (smem > (size_t)g_cuda.max_smem_optin)
    return gust_fail(GUST_ERR_UNSUPPORTED, "%s: head_dim %d needs %zu bytes of shared memory per block; this GPU allows %d",
                     op, sh.head_dim, smem, g_cuda.max_smem_optin);
  static bool configured = false;
  if (!configured) {
    GUST_CUDA_TRY(op, "raising the decode kernel's shared-memory limit",
                  cudaFuncSetAttribute(decode_kernel<KV, DPT>, cudaFuncAttributeMaxDynamicSharedMemorySize, g_cuda.max_smem_optin));
    configured = true;
  }
  dim3 grid(w.decode_cap, sh.num_kv_heads * a.head_chunks, p.splits);
  decode_kernel<KV, DPT><<<grid, kThreads, smem, g_cuda.stream>>>(a, kv);
  GUST_TRY(gust_after_launch(op));
  if (p.splits > 1) {
    merge_kernel<<<dim3(w.decode_cap, sh.num_heads), kThreads, 0, g_cuda.stream>>>(sh, w, p);
    GUST_TRY(gust_after_launch(op));
  }
  return GUST_OK;
}

} /* namespace */

int32_t gust_attention_decode_paged(const AttnShape &sh, const AttnBatch &b, const AttnWork &w, const AttnPartials &p,
                                    const PagedKv &kv, const char *op) {
  return gust_with_kv_format(kv, [&](const auto &typed) {
    using KV = std::decay_t<decltype(typed)>;
    return sh.head_dim <= kThreads ? launch<KV, 1>(sh, b, w, p, typed, op) : launch<KV, 2>(sh, b, w, p, typed, op);
  });
}

int32_t gust_attention_decode_dense(const AttnShape &sh, const AttnBatch &b, const AttnWork &w, const AttnPartials &p,
                                    const DenseKv &kv, const char *op) {
  return sh.head_dim <= kThreads ? launch<DenseKv, 1>(sh, b, w, p, kv, op) : launch<DenseKv, 2>(sh, b, w, p, kv, op);
}
