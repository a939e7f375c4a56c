/* Flash-style causal GQA attention on AVX2 + FMA: the fast path of gust_attention (attention.c keeps the
 * two-pass loop as its portable twin and specification).
 *
 * One work item is (sequence, KV head, tile of up to QUERY_ROWS query rows). Its queries are the rows × the
 * `group` query heads that share the KV head, so each K/V tile is read and converted to f32 once for all of
 * them. K tiles of KEYS keys stream past with an online softmax (running max m, running sum l, output O
 * rescaled by exp(m_old − m_new)); nothing of size context × context exists.
 *
 * Layouts in the scratch of one thread (D = head_dim, M = rows · group queries, query m = row · group + g):
 *   qs[M][D] (q · scale), kt[D][KEYS] (K transposed: 8 keys' d-th elements are one load), vt[KEYS][D],
 *   s[M][KEYS] scores then probabilities, o[M][D], m[M], l[M].
 * Example: gust-mini (8 heads, 2 KV heads, D 32) prefilling 2,048 rows: group 4, 16 rows per item → M 64,
 * 128 row tiles × 2 KV heads = 256 items; the item holding rows 1,024..1,039 visits 17 K tiles (keys 0..1,087,
 * the last one masked per row by position). */
#include <float.h>
#include <stdlib.h>

#include "internal.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma,f16c")))
#define KEYS 64
#define QUERIES 64

/* e^x in double on 4 lanes: 2^n · e^r with r = x − n·ln2 (ln2 split in two parts), Taylor to r^10
 * (|r| ≤ 0.35: truncation < 1e-11 relative), so rounding to f32 gives expf's correctly rounded value in all
 * but rare ties. f32 arithmetic here (~1 ulp) flips FP8 activation roundings downstream and the goldens with them. */
AVX2 static inline __m256d exp4(__m256d x) {
  __m256d n = _mm256_round_pd(_mm256_mul_pd(x, _mm256_set1_pd(1.4426950408889634)),
                              _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256d r = _mm256_fnmadd_pd(n, _mm256_set1_pd(6.93147180369123816490e-01), x);
  r = _mm256_fnmadd_pd(n, _mm256_set1_pd(1.90821492927058770002e-10), r);
  __m256d p = _mm256_set1_pd(1.0 / 3628800.0);
  static const double inverse_factorials[] = {1.0 / 362880.0, 1.0 / 40320.0, 1.0 / 5040.0, 1.0 / 720.0, 1.0 / 120.0,
                                              1.0 / 24.0,     1.0 / 6.0,     0.5,          1.0,         1.0};
  for (int i = 0; i < 10; i++) p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(inverse_factorials[i]));
  __m256i e = _mm256_slli_epi64(_mm256_add_epi64(_mm256_cvtepi32_epi64(_mm256_cvtpd_epi32(n)), _mm256_set1_epi64x(1023)),
                                52);
  return _mm256_mul_pd(p, _mm256_castsi256_pd(e));
}

/* e^x for x ≤ 0 (scores minus the running max) on 8 f32 lanes; below −87 the result is 0. */
AVX2 static inline __m256 exp_nonpositive(__m256 x) {
  __m256 keep = _mm256_cmp_ps(x, _mm256_set1_ps(-87.0f), _CMP_GE_OQ);
  x = _mm256_max_ps(x, _mm256_set1_ps(-87.0f));
  __m128 lo = _mm256_cvtpd_ps(exp4(_mm256_cvtps_pd(_mm256_castps256_ps128(x))));
  __m128 hi = _mm256_cvtpd_ps(exp4(_mm256_cvtps_pd(_mm256_extractf128_ps(x, 1))));
  return _mm256_and_ps(_mm256_set_m128(hi, lo), keep);
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
AVX2 static inline void kv_row_f32(float *dst, const void *cache, int32_t dtype, size_t offset, int32_t D, float scale) {
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

/* Keys p0 .. p0 + n − 1 into kt (transposed) and vt; keys n .. KEYS − 1 are zero so masked lanes stay finite. */
AVX2 static void load_tile(const KvSource *src, int32_t p0, int32_t n, int32_t D, float *kt, float *vt, float *row) {
  for (int32_t j = 0; j < n; j++) {
    int32_t p = p0 + j;
    size_t slot = (size_t)src->table[p / src->block_size] * src->block_size + p % src->block_size;
    size_t offset = slot * src->kv_row + src->kv_off;
    kv_row_f32(row, src->k_cache, src->dtype, offset, D, src->k_scale);
    for (int32_t d = 0; d < D; d++) kt[(size_t)d * KEYS + j] = row[d];
    kv_row_f32(vt + (size_t)j * D, src->v_cache, src->dtype, offset, D, src->v_scale);
  }
  for (int32_t j = n; j < KEYS; j++) {
    for (int32_t d = 0; d < D; d++) kt[(size_t)d * KEYS + j] = 0.0f;
    memset(vt + (size_t)j * D, 0, sizeof(float) * (size_t)D);
  }
}

/* s[m][0..keys) = qs[m] · K for queries m0..m0+3 (16 keys per pass: 8 accumulators, 2 loads per 8 FMAs). */
AVX2 static void scores_4(const float *qs, const float *kt, float *s, int32_t m0, int32_t keys, int32_t D) {
  const float *q0 = qs + (size_t)m0 * D, *q1 = q0 + D, *q2 = q1 + D, *q3 = q2 + D;
  for (int32_t j = 0; j < keys; j += 16) {
    __m256 a00 = _mm256_setzero_ps(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
    for (int32_t d = 0; d < D; d++) {
      __m256 k0 = _mm256_loadu_ps(kt + (size_t)d * KEYS + j), k1 = _mm256_loadu_ps(kt + (size_t)d * KEYS + j + 8);
      __m256 b = _mm256_broadcast_ss(q0 + d);
      a00 = _mm256_fmadd_ps(b, k0, a00), a01 = _mm256_fmadd_ps(b, k1, a01);
      b = _mm256_broadcast_ss(q1 + d);
      a10 = _mm256_fmadd_ps(b, k0, a10), a11 = _mm256_fmadd_ps(b, k1, a11);
      b = _mm256_broadcast_ss(q2 + d);
      a20 = _mm256_fmadd_ps(b, k0, a20), a21 = _mm256_fmadd_ps(b, k1, a21);
      b = _mm256_broadcast_ss(q3 + d);
      a30 = _mm256_fmadd_ps(b, k0, a30), a31 = _mm256_fmadd_ps(b, k1, a31);
    }
    float *r = s + (size_t)m0 * KEYS + j;
    _mm256_storeu_ps(r, a00), _mm256_storeu_ps(r + 8, a01);
    _mm256_storeu_ps(r + KEYS, a10), _mm256_storeu_ps(r + KEYS + 8, a11);
    _mm256_storeu_ps(r + 2 * KEYS, a20), _mm256_storeu_ps(r + 2 * KEYS + 8, a21);
    _mm256_storeu_ps(r + 3 * KEYS, a30), _mm256_storeu_ps(r + 3 * KEYS + 8, a31);
  }
}

AVX2 static void scores_1(const float *qs, const float *kt, float *s, int32_t m, int32_t keys, int32_t D) {
  const float *q = qs + (size_t)m * D;
  for (int32_t j = 0; j < keys; j += 16) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0;
    for (int32_t d = 0; d < D; d++) {
      __m256 b = _mm256_broadcast_ss(q + d);
      a0 = _mm256_fmadd_ps(b, _mm256_loadu_ps(kt + (size_t)d * KEYS + j), a0);
      a1 = _mm256_fmadd_ps(b, _mm256_loadu_ps(kt + (size_t)d * KEYS + j + 8), a1);
    }
    _mm256_storeu_ps(s + (size_t)m * KEYS + j, a0), _mm256_storeu_ps(s + (size_t)m * KEYS + j + 8, a1);
  }
}

/* o[m] += Σ_j p[m][j] · V[j] for queries m, m + 1, 32 dims at a time (8 accumulators per pass). */
AVX2 static void accumulate_2(const float *p, const float *vt, float *o, int32_t m, int32_t valid, int32_t D) {
  const float *p0 = p + (size_t)m * KEYS, *p1 = p0 + KEYS;
  float *o0 = o + (size_t)m * D, *o1 = o0 + D;
  int32_t d = 0;
  for (; d + 32 <= D; d += 32) {
    __m256 a0 = _mm256_loadu_ps(o0 + d), a1 = _mm256_loadu_ps(o0 + d + 8), a2 = _mm256_loadu_ps(o0 + d + 16),
           a3 = _mm256_loadu_ps(o0 + d + 24), b0 = _mm256_loadu_ps(o1 + d), b1 = _mm256_loadu_ps(o1 + d + 8),
           b2 = _mm256_loadu_ps(o1 + d + 16), b3 = _mm256_loadu_ps(o1 + d + 24);
    for (int32_t j = 0; j < valid; j++) {
      const float *v = vt + (size_t)j * D + d;
      __m256 v0 = _mm256_loadu_ps(v), v1 = _mm256_loadu_ps(v + 8), v2 = _mm256_loadu_ps(v + 16),
             v3 = _mm256_loadu_ps(v + 24);
      __m256 w = _mm256_broadcast_ss(p0 + j);
      a0 = _mm256_fmadd_ps(w, v0, a0), a1 = _mm256_fmadd_ps(w, v1, a1);
      a2 = _mm256_fmadd_ps(w, v2, a2), a3 = _mm256_fmadd_ps(w, v3, a3);
      w = _mm256_broadcast_ss(p1 + j);
      b0 = _mm256_fmadd_ps(w, v0, b0), b1 = _mm256_fmadd_ps(w, v1, b1);
      b2 = _mm256_fmadd_ps(w, v2, b2), b3 = _mm256_fmadd_ps(w, v3, b3);
    }
    _mm256_storeu_ps(o0 + d, a0), _mm256_storeu_ps(o0 + d + 8, a1), _mm256_storeu_ps(o0 + d + 16, a2);
    _mm256_storeu_ps(o0 + d + 24, a3), _mm256_storeu_ps(o1 + d, b0), _mm256_storeu_ps(o1 + d + 8, b1);
    _mm256_storeu_ps(o1 + d + 16, b2), _mm256_storeu_ps(o1 + d + 24, b3);
  }
  for (; d < D; d += 8) {
    __m256 a = _mm256_loadu_ps(o0 + d), b = _mm256_loadu_ps(o1 + d);
    for (int32_t j = 0; j < valid; j++) {
      __m256 v = _mm256_loadu_ps(vt + (size_t)j * D + d);
      a = _mm256_fmadd_ps(_mm256_broadcast_ss(p0 + j), v, a);
      b = _mm256_fmadd_ps(_mm256_broadcast_ss(p1 + j), v, b);
    }
    _mm256_storeu_ps(o0 + d, a), _mm256_storeu_ps(o1 + d, b);
  }
}

AVX2 static void accumulate_1(const float *p, const float *vt, float *o, int32_t m, int32_t valid, int32_t D) {
  const float *pm = p + (size_t)m * KEYS;
  float *om = o + (size_t)m * D;
  for (int32_t d = 0; d < D; d += 8) {
    __m256 a = _mm256_loadu_ps(om + d);
    for (int32_t j = 0; j < valid; j++)
      a = _mm256_fmadd_ps(_mm256_broadcast_ss(pm + j), _mm256_loadu_ps(vt + (size_t)j * D + d), a);
    _mm256_storeu_ps(om + d, a);
  }
}

/* Online softmax over one tile for query m whose first `valid` keys are visible: s[m] becomes probabilities
 * relative to the new running max, and o[m], l[m] are rescaled to it. */
AVX2 static void softmax_tile(float *s, float *o, float *run_max, float *run_sum, int32_t m, int32_t valid,
                              int32_t D, float scale) {
  float *sm = s + (size_t)m * KEYS;
  for (int32_t j = 0; j < valid; j += 8) _mm256_storeu_ps(sm + j, _mm256_mul_ps(_mm256_loadu_ps(sm + j), _mm256_set1_ps(scale)));
  const __m256 lane = _mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7), neg = _mm256_set1_ps(-FLT_MAX);
  __m256 vmax = neg;
  for (int32_t j = 0; j < valid; j += 8) {
    __m256 visible = _mm256_cmp_ps(_mm256_add_ps(lane, _mm256_set1_ps((float)j)), _mm256_set1_ps((float)valid),
                                   _CMP_LT_OQ);
    vmax = _mm256_max_ps(vmax, _mm256_blendv_ps(neg, _mm256_loadu_ps(sm + j), visible));
  }
  float new_max = hmax8(vmax);
  if (new_max < run_max[m]) new_max = run_max[m];
  float alpha = run_max[m] == -FLT_MAX ? 0.0f : expf(run_max[m] - new_max);
  __m256 sum = _mm256_setzero_ps(), base = _mm256_set1_ps(new_max);
  for (int32_t j = 0; j < valid; j += 8) {
    __m256 visible = _mm256_cmp_ps(_mm256_add_ps(lane, _mm256_set1_ps((float)j)), _mm256_set1_ps((float)valid),
                                   _CMP_LT_OQ);
    __m256 e = _mm256_and_ps(exp_nonpositive(_mm256_sub_ps(_mm256_loadu_ps(sm + j), base)), visible);
    _mm256_storeu_ps(sm + j, e);
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
  float *row = run_sum + QUERIES;
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
    load_tile(src, p0, n, D, kt, vt, row);
    int32_t keys = (n + 15) & ~15;
    int32_t m = 0;
    for (; m + 4 <= M; m += 4) scores_4(qs, kt, s, m, keys, D);
    for (; m < M; m++) scores_1(qs, kt, s, m, keys, D);
    int32_t most = 0;
    for (m = 0; m < M; m++) {
      int32_t valid = first_position + m / group - p0 + 1;
      valid = valid > n ? n : valid;
      if (valid > most) most = valid;
      if (valid > 0) softmax_tile(s, o, run_max, run_sum, m, valid, D, scale);
      else memset(s + (size_t)m * KEYS, 0, sizeof(float) * KEYS); /* this row sees none of the tile */
    }
    for (m = 0; m + 2 <= M; m += 2) accumulate_2(s, vt, o, m, most, D);
    for (; m < M; m++) accumulate_1(s, vt, o, m, most, D);
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
                          2 * QUERIES + (size_t)head_dim;
  int failed = 0;
#pragma omp parallel if (num_items > 1 && max_work * num_heads * head_dim > 65536)
  {
    float *scratch = (float *)malloc(sizeof(float) * scratch_floats);
    if (!scratch) {
#pragma omp atomic write
      failed = 1;
    }
#pragma omp for schedule(dynamic, 1)
    for (int64_t item = 0; item < num_items; item++) {
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
