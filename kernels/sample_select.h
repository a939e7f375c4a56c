/* The sampler's partial selections over token ids (a port of runtime/sampling/select.ts, step for step), shared by
 * the CPU and CUDA samplers through sample_core.h. One total order ranks tokens: higher weight first, lower id on
 * ties. Not part of the ABI. */
#ifndef GUST_SAMPLE_SELECT_H
#define GUST_SAMPLE_SELECT_H

#include <stdint.h>

#ifdef __CUDACC__
#define GUST_SC __host__ __device__
#else
#define GUST_SC
#endif

static inline GUST_SC int gust_before(const double *w, int32_t a, int32_t b) {
  return w[a] > w[b] || (w[a] == w[b] && a < b);
}

/* Lomuto partition of idx[lo, hi) around the median of three; *left_mass = Σ w before the pivot. */
static inline GUST_SC int32_t gust_partition(int32_t *idx, int32_t lo, int32_t hi, const double *w,
                                             double *left_mass) {
  int32_t last = hi - 1, mid = (int32_t)(((uint32_t)lo + (uint32_t)hi) >> 1), m;
  int32_t a = idx[lo], b = idx[mid], c = idx[last];
  if (gust_before(w, a, b)) m = gust_before(w, b, c) ? mid : gust_before(w, a, c) ? last : lo;
  else m = gust_before(w, a, c) ? lo : gust_before(w, b, c) ? last : mid;
  int32_t pv = idx[m];
  idx[m] = idx[last];
  idx[last] = pv;
  double wp = w[pv], mass = 0;
  int32_t store = lo;
  for (int32_t j = lo; j < last; j++) {
    int32_t t = idx[j];
    double wt = w[t];
    if (wt > wp || (wt == wp && t < pv)) {
      idx[j] = idx[store];
      idx[store++] = t;
      mass += wt;
    }
  }
  idx[last] = idx[store];
  idx[store] = pv;
  *left_mass = mass;
  return store;
}

static inline GUST_SC void gust_select_top_count(int32_t *idx, int32_t n, const double *w, int32_t k) {
  if (k <= 0 || k >= n) return;
  int32_t lo = 0, hi = n;
  double unused;
  while (lo < k && k < hi) {
    int32_t p = gust_partition(idx, lo, hi, w, &unused);
    if (p < k) lo = p + 1;
    else if (p > k) hi = p;
    else return;
  }
}

static inline GUST_SC int32_t gust_select_top_mass(int32_t *idx, int32_t n, const double *w, double target) {
  if (target <= 0) return 0;
  int32_t lo = 0, hi = n;
  double acc = 0, left;
  while (lo < hi) {
    if (hi - lo == 1) return hi;
    int32_t p = gust_partition(idx, lo, hi, w, &left);
    if (acc + left >= target) hi = p;
    else if (acc + left + w[idx[p]] >= target) return p + 1;
    else {
      acc += left + w[idx[p]];
      lo = p + 1;
    }
  }
  return n;
}

static inline GUST_SC int gust_after(const double *w, int32_t a, int32_t b) {
  return w[a] < w[b] || (w[a] == w[b] && a > b);
}

static inline GUST_SC void gust_sift_down(int32_t *heap, int32_t k, const double *w, int32_t at) {
  int32_t x = heap[at];
  for (;;) {
    int32_t c = 2 * at + 1;
    if (c >= k) break;
    if (c + 1 < k && gust_after(w, heap[c + 1], heap[c])) c++;
    if (!gust_after(w, heap[c], x)) break;
    heap[at] = heap[c];
    at = c;
  }
  heap[at] = x;
}

static inline GUST_SC void gust_select_top_count_heap(const double *w, int32_t n, int32_t k, int32_t *out) {
  if (k > n) k = n;
  for (int32_t i = 0; i < k; i++) out[i] = i;
  for (int32_t i = (k >> 1) - 1; i >= 0; i--) gust_sift_down(out, k, w, i);
  for (int32_t i = k; i < n; i++) {
    if (w[i] > w[out[0]]) {
      out[0] = i;
      gust_sift_down(out, k, w, 0);
    }
  }
}

#endif
