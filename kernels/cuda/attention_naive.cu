/* Reference attention (GUST_CUDA_KERNELS=naive): one warp per (row, query head), keys one after another
 * with an online softmax, lanes over the head dims. Slow and simple, so that when the fast kernels and
 * the CPU disagree this third opinion says which side is wrong. */
#include <math.h>

#include "attention.cuh"

namespace {

constexpr int kWarpsPerBlock = 4, kDimsPerLane = kMaxHeadDim / 32;

template <class KV>
__global__ void __launch_bounds__(kWarpsPerBlock * 32) naive_kernel(AttnShape sh, AttnBatch b, AttnWork w, KV kv) {
  const int lane = threadIdx.x & 31;
  const int64_t unit = (int64_t)blockIdx.x * kWarpsPerBlock + (threadIdx.x >> 5);
  const int32_t H = sh.num_heads, D = sh.head_dim;
  const int64_t item = unit / H;
  const int32_t h = (int32_t)(unit % H);
  if (item >= w.counts[0]) return;
  const int2 rs = w.decode_items[item];
  const int32_t row = rs.x, s = rs.y, g = h / sh.group;
  const int32_t r0 = b.starts[s], n = b.starts[s + 1] - r0;
  const int32_t kv_len = KV::causal ? b.kv_lens[s] : n;
  const int32_t nk = attn_visible_keys(KV::causal, kv_len, n, row - r0);
  const float *q = sh.q + ((int64_t)row * H + h) * D;
  float qd[kDimsPerLane], acc[kDimsPerLane];
#pragma unroll
  for (int i = 0; i < kDimsPerLane; i++) {
    const int d = lane + 32 * i;
    qd[i] = d < D ? q[d] : 0.0f;
    acc[i] = 0.0f;
  }
  float m = -INFINITY, l = 0.0f;
  for (int32_t p = 0; p < nk; p++) {
    const int64_t off = kv.row(s, r0, p, g);
    if (off < 0) continue;
    float dot = 0.0f;
#pragma unroll
    for (int i = 0; i < kDimsPerLane; i++) {
      const int d = lane + 32 * i;
      if (d < D) dot = fmaf(qd[i], kv.kx(off + d), dot);
    }
    for (int o = 16; o > 0; o >>= 1) dot += __shfl_xor_sync(0xffffffffu, dot, o);
    const float score = dot * sh.scale, m_new = fmaxf(m, score);
    const float alpha = expf(m - m_new), e = expf(score - m_new);
    l = l * alpha + e;
#pragma unroll
    for (int i = 0; i < kDimsPerLane; i++) {
      const int d = lane + 32 * i;
      acc[i] = acc[i] * alpha + (d < D ? e * kv.vx(off + d) : 0.0f);
    }
    m = m_new;
  }
  float *out = sh.out + ((int64_t)row * H + h) * D;
#pragma unroll
  for (int i = 0; i < kDimsPerLane; i++) {
    const int d = lane + 32 * i;
    if (d < D) out[d] = acc[i] / l;
  }
}

template <class KV>
int32_t launch(const AttnShape &sh, const AttnBatch &b, const AttnWork &w, const KV &kv, const char *op) {
  const int64_t units = (int64_t)w.decode_cap * sh.num_heads;
  if (units == 0) return GUST_OK;
  const int64_t blocks = (units + kWarpsPerBlock - 1) / kWarpsPerBlock;
  if (blocks > INT32_MAX) return gust_fail(GUST_ERR_UNSUPPORTED, "%s: too many rows for the naive kernel", op);
  naive_kernel<KV><<<(unsigned)blocks, kWarpsPerBlock * 32, 0, g_cuda.stream>>>(sh, b, w, kv);
  return gust_after_launch(op);
}

} /* namespace */

int32_t gust_attention_naive_paged(const AttnShape &sh, const AttnBatch &b, const AttnWork &w, const PagedKv &kv,
                                   const char *op) {
  return gust_with_kv_format(kv, [&](const auto &typed) { return launch(sh, b, w, typed, op); });
}

int32_t gust_attention_naive_dense(const AttnShape &sh, const AttnBatch &b, const AttnWork &w, const DenseKv &kv,
                                   const char *op) {
  return launch(sh, b, w, kv, op);
}
