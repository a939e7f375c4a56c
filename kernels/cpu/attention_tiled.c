/* Flash-style causal GQA attention on AVX2 + FMA: the fast path of gust_attention (attention.c keeps the
 * two-pass loop as its portable twin and specification).
 *
 * One work item is (sequence, KV head, tile of up to QUERIES / group query rows). Its queries are the rows × the
 * `group` query heads that share the KV head, so each K/V tile is read and converted to f32 once for all of
 * them. K tiles of KEYS keys stream past with an online softmax (running max m, running sum l, output O
 * rescaled by exp(m_old − m_new)); nothing of size context × context exists.
 *
 * Layouts in the scratch of one thread (D = head_dim, M = rows · group queries, query m = row · group + g):
 *   qs[M][D] (q), kt[D][KEYS] (K transposed: 8 keys' d-th elements are one load), vt[KEYS][D],
 *   s[M][KEYS] scores then probabilities, o[M][D], m[M], l[M], kf[KEYS][D] (K rows in f32 before the transpose).
 * The micro-kernels take 6 queries at a time (12 accumulators: enough to cover FMA latency on two pipes).
 * Example: gust-mini (8 heads, 2 KV heads, D 32) prefilling 2,048 rows: group 4, 32 rows per item → M 128,
 * 64 row tiles × 2 KV heads = 128 items; the item holding rows 1,024..1,055 visits 17 K tiles (keys 0..1,087,
 * the last one masked per row by position). QUERIES 128 rather than 64: each K/V tile is converted for twice
 * as many queries, ~5–8 % faster at a 40k context on this VM (2026-12-06 note). */
#include <float.h>
#include <stdlib.h>

#include "internal.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma,f16c")))
#define KEYS 64
#define QUERIES 128

/* e^x for x ≤ 0 (scores minus the running max) on 8 f32 lanes: 2^n · e^r with r = x − n·ln2 (ln2 in two parts,
 * Cody–Waite) and Cephes' degree-6 expf polynomial (~1 ulp); below −87 the result is 0. The FP8 and bf16 goldens
 * hold with it (an earlier golden break came from scaling q before the dot; scores are scaled after it, as the
 * portable twin does). */
AVX2 static inline __m256 exp_nonpositive(__m256 x) {
  __m256 keep = _mm256_cmp_ps(x, _mm256_set1_ps(-87.0f), _CMP_GE_OQ);
  x = _mm256_max_ps(x, _mm256_set1_ps(-87.0f));
  __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                             _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500E-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507E-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073E-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894E-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459E-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201E-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r);
  p = _mm256_add_ps(p, _mm256_set1_ps(1.0f));
  __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_and_ps(_mm256_mul_ps(p, _mm256_castsi256_ps(e)), keep);
}

AVX2 static inline float hmax8(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  return _mm_cvtss_f32(_mm_max_ss(m, _mm_shuffle_ps(m, m, 1)));
}

AVX2 static inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_shuffle_ps(s, s, 1)));
}

/* dst[0..D) = f32 values of cache[offset..offset + D) stored as dtype (see gust.h, KV cache storage). */
AVX2 static inline void kv_row_f32(float *dst, const void *cache, int32_t dtype, size_t offset, int32_t D,
                                   float scale) {
  if (dtype == GUST_DTYPE_F32) {
    memcpy(dst, (const float *)cache + offset, sizeof(float) * (size_t)D);
  } else if (dtype == GUST_DTYPE_BF16) {
    const uint16_t *src = (const uint16_t *)cache + offset;
    for (int32_t d = 0; d < D; d += 8) {
      __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(src + d)));
      _mm256_storeu_ps(dst + d, _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16)));
    }
  } else {
    const uint8_t *src = (const uint8_t *)cache + offset;
    for (int32_t d = 0; d < D; d++) dst[d] = gust_e4m3_table[src[d]] * scale;
  }
}

typedef struct {
  const void *k_cache, *v_cache;
  int32_t dtype;
  float k_scale, v_scale;
  const int32_t *table; /* this sequence's block table */
  int32_t block_size;
  size_t kv_row, kv_off; /* elements per cache slot; this KV head's first element in a slot */
} KvSource;

/* kt[d][j0 + i] = kf[j0 + i][d] for an 8 × 8 block (d = d0 .. d0 + 7, i = 0 .. 7): rows of K become columns. */
AVX2 static inline void transpose_8x8(const float *kf, float *kt, int32_t j0, int32_t d0, int32_t D) {
  __m256 r[8], t[8];
  for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(kf + (size_t)(j0 + i) * D + d0);
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]), t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    r[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44), r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
    r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44), r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
  }
  for (int i = 0; i < 4; i++) {
    _mm256_storeu_ps(kt + (size_t)(d0 + i) * KEYS + j0, _mm256_permute2f128_ps(r[i], r[i + 4], 0x20));
    _mm256_storeu_ps(kt + (size_t)(d0 + i + 4) * KEYS + j0, _mm256_permute2f128_ps(r[i], r[i + 4], 0x31));
  }
}

/* Keys p0 .. p0 + n − 1 into kt (transposed, through kf: K rows as f32) and vt; keys n .. KEYS − 1 are zero so
 * masked lanes stay finite. */
AVX2 static void load_tile(const KvSource *src, int32_t p0, int32_t n, int32_t D, float *kt, float *vt, float *kf) {
  for (int32_t j = 0; j < n; j++) {
    int32_t p = p0 + j;
    size_t slot = (size_t)src->table[p / src->block_size] * src->block_size + p % src->block_size;
    size_t offset = slot * src->kv_row + src->kv_off;
    kv_row_f32(kf + (size_t)j * D, src->k_cache, src->dtype, offset, D, src->k_scale);
    kv_row_f32(vt + (size_t)j * D, src->v_cache, src->dtype, offset, D, src->v_scale);
  }
  int32_t blocks = (n + 7) & ~7;
  if (blocks > n) memset(kf + (size_t)n * D, 0, sizeof(float) * (size_t)(blocks - n) * D);
  for (int32_t j0 = 0; j0 < blocks; j0 += 8)
    for (int32_t d0 = 0; d0 < D; d0 += 8) transpose_8x8(kf, kt, j0, d0, D);
  for (int32_t d = 0; d < D && blocks < KEYS; d++) {
    memset(kt + (size_t)d * KEYS + blocks, 0, sizeof(float) * (KEYS - blocks));
  }
  if (n < KEYS) memset(vt + (size_t)n * D, 0, sizeof(float) * (size_t)(KEYS - n) * D);
}

/* s[m][0..keys) = qs[m] · K for queries m0 .. m0 + R − 1, 16 keys per pass: 2R accumulators, 2 + R loads per
 * 2R FMAs (R = 6: 12 accumulators cover the FMA latency on two pipes). R is a constant at each call. */
AVX2 static inline __attribute__((always_inline)) void scores_rows(const float *qs, const float *kt, float *s,
                                                                   int32_t m0, int32_t keys, int32_t D, const int R) {
  for (int32_t j = 0; j < keys; j += 16) {
    __m256 acc[6][2];
#pragma GCC unroll 6
    for (int r = 0; r < R; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    for (int32_t d = 0; d < D; d++) {
      __m256 k0 = _mm256_loadu_ps(kt + (size_t)d * KEYS + j), k1 = _mm256_loadu_ps(kt + (size_t)d * KEYS + j + 8);
#pragma GCC unroll 6
      for (int r = 0; r < R; r++) {
        __m256 b = _mm256_broadcast_ss(qs + (size_t)(m0 + r) * D + d);
        acc[r][0] = _mm256_fmadd_ps(b, k0, acc[r][0]), acc[r][1] = _mm256_fmadd_ps(b, k1, acc[r][1]);
      }
    }
#pragma GCC unroll 6
    for (int r = 0; r < R; r++) {
      _mm256_storeu_ps(s + (size_t)(m0 + r) * KEYS + j, acc[r][0]);
      _mm256_storeu_ps(s + (size_t)(m0 + r) * KEYS + j + 8, acc[r][1]);
    }
  }
}

/* o[m] += Σ_j p[m][j] · V[j] for queries m0 .. m0 + R − 1, 16 dims per pass (8 when D % 16 leaves 8):
 * 2R accumulators, 2 + R loads per 2R FMAs. */
AVX2 static inline __attribute__((always_inline)) void accumulate_rows(const float *p, const float *vt, float *o,
                                                                       int32_t m0, int32_t valid, int32_t D,
                                                                       const int R) {
  int32_t d = 0;
  for (; d + 16 <= D; d += 16) {
    __m256 acc[6][2];
#pragma GCC unroll 6
    for (int r = 0; r < R; r++) {
      acc[r][0] = _mm256_loadu_ps(o + (size_t)(m0 + r) * D + d);
      acc[r][1] = _mm256_loadu_ps(o + (size_t)(m0 + r) * D + d + 8);
    }
    for (int32_t j = 0; j < valid; j++) {
      __m256 v0 = _mm256_loadu_ps(vt + (size_t)j * D + d), v1 = _mm256_loadu_ps(vt + (size_t)j * D + d + 8);
#pragma GCC unroll 6
      for (int r = 0; r < R; r++) {
        __m256 w = _mm256_broadcast_ss(p + (size_t)(m0 + r) * KEYS + j);
        acc[r][0] = _mm256_fmadd_ps(w, v0, acc[r][0]), acc[r][1] = _mm256_fmadd_ps(w, v1, acc[r][1]);
      }
    }
#pragma GCC unroll 6
    for (int r = 0; r < R; r++) {
      _mm256_storeu_ps(o + (size_t)(m0 + r) * D + d, acc[r][0]);
      _mm256_storeu_ps(o + (size_t)(m0 + r) * D + d + 8, acc[r][1]);
    }
  }
  for (; d < D; d += 8) {
    __m256 acc[6];
#pragma GCC unroll 6
    for (int r = 0; r < R; r++) acc[r] = _mm256_loadu_ps(o + (size_t)(m0 + r) * D + d);
    for (int32_t j = 0; j < valid; j++) {
      __m256 v = _mm256_loadu_ps(vt + (size_t)j * D + d);
#pragma GCC unroll 6
      for (int r = 0; r < R; r++)
        acc[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(p + (size_t)(m0 + r) * KEYS + j), v, acc[r]);
    }
#pragma GCC unroll 6
    for (int r = 0; r < R; r++) _mm256_storeu_ps(o + (size_t)(m0 + r) * D + d, acc[r]);
  }
}

/* Online softmax over one tile for query m whose first `valid` keys are visible: s[m] becomes probabilities
 * relative to the new running max, and o[m], l[m] are rescaled to it. */
AVX2 static void softmax_tile(float *s, float *o, float *run_max, float *run_sum, int32_t m, int32_t valid,
                              int32_t D, float scale) {
  float *sm = s + (size_t)m * KEYS;
  const __m256 neg = _mm256_set1_ps(-FLT_MAX), vscale = _mm256_set1_ps(scale);
  /* lanes at or past `valid` in the last group of 8 are masked: tail_mask lane i is set when i < valid % 8 */
  int32_t full = valid & ~7, tail = valid - full;
  __m256 tail_mask = _mm256_cmp_ps(_mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_ps((float)tail), _CMP_LT_OQ);
  __m256 vmax = neg;
  for (int32_t j = 0; j < full; j += 8) {
    __m256 x = _mm256_mul_ps(_mm256_loadu_ps(sm + j), vscale);
    _mm256_storeu_ps(sm + j, x);
    vmax = _mm256_max_ps(vmax, x);
  }
  if (tail) {
    __m256 x = _mm256_mul_ps(_mm256_loadu_ps(sm + full), vscale);
    _mm256_storeu_ps(sm + full, x);
    vmax = _mm256_max_ps(vmax, _mm256_blendv_ps(neg, x, tail_mask));
  }
  float new_max = hmax8(vmax);
  if (new_max < run_max[m]) new_max = run_max[m];
  /* expf(0) = 1 exactly, so the call is skipped when the running max did not move */
  float alpha = run_max[m] == -FLT_MAX ? 0.0f : run_max[m] == new_max ? 1.0f : expf(run_max[m] - new_max);
  __m256 sum = _mm256_setzero_ps(), base = _mm256_set1_ps(new_max);
  for (int32_t j = 0; j < full; j += 8) {
    __m256 e = exp_nonpositive(_mm256_sub_ps(_mm256_loadu_ps(sm + j), base));
    _mm256_storeu_ps(sm + j, e);
    sum = _mm256_add_ps(sum, e);
  }
  if (tail) {
    __m256 e = _mm256_and_ps(exp_nonpositive(_mm256_sub_ps(_mm256_loadu_ps(sm + full), base)), tail_mask);
    _mm256_storeu_ps(sm + full, e);
    sum = _mm256_add_ps(sum, e);
  }
  for (int32_t j = (valid + 7) & ~7; j < KEYS; j += 8) _mm256_storeu_ps(sm + j, _mm256_setzero_ps());
  run_sum[m] = run_sum[m] * alpha + hsum8(sum);
  run_max[m] = new_max;
  if (alpha != 1.0f) {
    float *om = o + (size_t)m * D;
    __m256 a = _mm256_set1_ps(alpha);
    for (int32_t d = 0; d < D; d += 8) _mm256_storeu_ps(om + d, _mm256_mul_ps(_mm256_loadu_ps(om + d), a));
  }
}

/* Rows first_row .. first_row + rows − 1 of one sequence (positions first_position ..) for one KV head. */
AVX2 static void attend_item(float *out, const float *q, const KvSource *src, int32_t first_row, int32_t rows,
                             int32_t first_position, int32_t num_heads, int32_t group, int32_t kv_head, int32_t D,
                             float scale, float *scratch) {
  int32_t M = rows * group;
  float *qs = scratch, *kt = qs + (size_t)QUERIES * D, *vt = kt + (size_t)D * KEYS, *s = vt + (size_t)KEYS * D;
  float *o = s + (size_t)QUERIES * KEYS, *run_max = o + (size_t)QUERIES * D, *run_sum = run_max + QUERIES;
  float *kf = run_sum + QUERIES;
  for (int32_t m = 0; m < M; m++) {
    const float *qv = q + ((size_t)(first_row + m / group) * num_heads + kv_head * group + m % group) * D;
    for (int32_t d = 0; d < D; d++) qs[(size_t)m * D + d] = qv[d];
    memset(o + (size_t)m * D, 0, sizeof(float) * (size_t)D);
    run_max[m] = -FLT_MAX;
    run_sum[m] = 0.0f;
  }
  int32_t last_position = first_position + rows - 1;
  for (int32_t p0 = 0; p0 <= last_position; p0 += KEYS) {
    int32_t n = last_position + 1 - p0 < KEYS ? last_position + 1 - p0 : KEYS;
    load_tile(src, p0, n, D, kt, vt, kf);
    int32_t keys = (n + 15) & ~15;
    int32_t m = 0;
    for (; m + 6 <= M; m += 6) scores_rows(qs, kt, s, m, keys, D, 6);
    for (; m + 2 <= M; m += 2) scores_rows(qs, kt, s, m, keys, D, 2);
    for (; m < M; m++) scores_rows(qs, kt, s, m, keys, D, 1);
    int32_t most = 0;
    for (m = 0; m < M; m++) {
      int32_t valid = first_position + m / group - p0 + 1;
      valid = valid > n ? n : valid;
      if (valid > most) most = valid;
      if (valid > 0) softmax_tile(s, o, run_max, run_sum, m, valid, D, scale);
      else memset(s + (size_t)m * KEYS, 0, sizeof(float) * KEYS); /* this row sees none of the tile */
    }
    for (m = 0; m + 6 <= M; m += 6) accumulate_rows(s, vt, o, m, most, D, 6);
    for (; m + 2 <= M; m += 2) accumulate_rows(s, vt, o, m, most, D, 2);
    for (; m < M; m++) accumulate_rows(s, vt, o, m, most, D, 1);
  }
  for (int32_t m = 0; m < M; m++) {
    float *ov = out + ((size_t)(first_row + m / group) * num_heads + kv_head * group + m % group) * D;
    float inv = 1.0f / run_sum[m];
    for (int32_t d = 0; d < D; d++) ov[d] = o[(size_t)m * D + d] * inv;
  }
}

int gust_attention_tiled_fits(int32_t num_heads, int32_t num_kv_heads, int32_t head_dim) {
  return gust_has_avx2 && head_dim % 8 == 0 && num_heads / num_kv_heads <= QUERIES;
}

AVX2 int32_t gust_attention_tiled(float *out, const float *q, const void *k_cache, const void *v_cache,
                                  int32_t kv_dtype, float k_scale, float v_scale, const int32_t *query_starts,
                                  const int32_t *context_lens, const int32_t *block_tables, int32_t num_seqs,
                                  int32_t num_heads, int32_t num_kv_heads, int32_t head_dim, int32_t block_size,
                                  int32_t max_blocks_per_seq, float scale) {
  int32_t group = num_heads / num_kv_heads, rows_per_item = QUERIES / group;
  /* items of sequence s start at item_starts[s]; each is (row tile, KV head) with the KV head fastest */
  int64_t *item_starts = (int64_t *)malloc(sizeof(int64_t) * ((size_t)num_seqs + 1));
  if (!item_starts) return gust_fail(GUST_ERR_OUT_OF_MEMORY, "gust_attention: no memory");
  item_starts[0] = 0;
  int64_t max_work = 0;
  for (int32_t s = 0; s < num_seqs; s++) {
    int32_t rows = query_starts[s + 1] - query_starts[s];
    item_starts[s + 1] = item_starts[s] + (int64_t)((rows + rows_per_item - 1) / rows_per_item) * num_kv_heads;
    int64_t work = (int64_t)rows * context_lens[s];
    if (work > max_work) max_work = work;
  }
  int64_t num_items = item_starts[num_seqs];
  size_t scratch_floats = (size_t)QUERIES * head_dim * 2 + (size_t)KEYS * head_dim * 2 + (size_t)QUERIES * KEYS +
                          2 * QUERIES + (size_t)KEYS * head_dim;
  int failed = 0;
#pragma omp parallel if (num_items > 1 && max_work * num_heads * head_dim > 65536)
  {
    float *scratch = (float *)malloc(sizeof(float) * scratch_floats);
    if (!scratch) {
#pragma omp atomic write
      failed = 1;
    }
    /* last items first: within a sequence they hold the longest contexts, so the tail of the dynamic schedule
     * is short items and both threads finish together */
#pragma omp for schedule(dynamic, 1)
    for (int64_t order = 0; order < num_items; order++) {
      int64_t item = num_items - 1 - order;
      if (!scratch) continue;
      int32_t s = 0;
      while (item_starts[s + 1] <= item) s++;
      int64_t local = item - item_starts[s];
      int32_t tile = (int32_t)(local / num_kv_heads), kv_head = (int32_t)(local % num_kv_heads);
      int32_t rows_in_seq = query_starts[s + 1] - query_starts[s], first = tile * rows_per_item;
      int32_t rows = rows_in_seq - first < rows_per_item ? rows_in_seq - first : rows_per_item;
      KvSource src = {k_cache,
                      v_cache,
                      kv_dtype,
                      k_scale,
                      v_scale,
                      block_tables + (size_t)s * max_blocks_per_seq,
                      block_size,
                      (size_t)num_kv_heads * head_dim,
                      (size_t)kv_head * head_dim};
      attend_item(out, q, &src, query_starts[s] + first, rows, context_lens[s] - rows_in_seq + first, num_heads,
                  group, kv_head, head_dim, scale, scratch);
    }
    free(scratch);
  }
  free(item_starts);
  if (failed) return gust_fail(GUST_ERR_OUT_OF_MEMORY, "gust_attention: no memory for the tile scratch");
  return GUST_OK;
}
#else
int gust_attention_tiled_fits(int32_t num_heads, int32_t num_kv_heads, int32_t head_dim) { return 0; }
int32_t gust_attention_tiled(float *out, const float *q, const void *k_cache, const void *v_cache, int32_t kv_dtype,
                             float k_scale, float v_scale, const int32_t *query_starts, const int32_t *context_lens,
                             const int32_t *block_tables, int32_t num_seqs, int32_t num_heads, int32_t num_kv_heads,
                             int32_t head_dim, int32_t block_size, int32_t max_blocks_per_seq, float scale) {
  return gust_fail(GUST_ERR_INVALID_ARGUMENT, "gust_attention: the tiled path needs x86-64");
}
#endif
