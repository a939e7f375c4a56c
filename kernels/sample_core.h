/* The sampler's per-row algorithm, shared by the CPU backend (C) and the CUDA backend (one thread per row):
 * a port of runtime/sampling/sampler.ts and select.ts, the readable spec, step for step and in the same
 * summation orders, so the same (seed, step, logits) give the same token. Not part of the ABI.
 *
 * Row pipeline (vLLM's order): allowed mask → logit bias → repetition, frequency, presence penalties →
 * temperature → top-k → top-p → min-p → exponential race over the counter hash (runtime/sampling/
 * counter-hash.ts): token = argmax_i w_i / −ln u_i, u_i = (murmur3(seed_lo, seed_hi, step, i) + 0.5) / 2^32.
 * One total order ranks tokens everywhere: higher weight first, lower id on ties. */
#ifndef GUST_SAMPLE_CORE_H
#define GUST_SAMPLE_CORE_H

#include <math.h>
#include <stdint.h>

#include "counter_hash.h"
#include "gust.h"
#include "sample_exp.h"
#include "sample_select.h"

/* The CPU backend swaps in AVX2 twins of these (kernels/cpu/internal.h); CUDA runs them as they are. */
#ifndef GUST_ROW_ARGMAX
#define GUST_ROW_ARGMAX gust_row_argmax
#endif
#ifndef GUST_FILL_WEIGHTS
#define GUST_FILL_WEIGHTS gust_fill_weights
#endif

/* E = −ln((h + 0.5) / 2^32), in f64 like the spec. */
static inline GUST_SC double gust_race_exponential(uint32_t h) { return -log(((double)h + 0.5) / 4294967296.0); }

/* ---- one row ------------------------------------------------------------------------------------------ */
/* Everything one row reads besides its parameters (the shared lists of gust_sample). */
typedef struct {
  const int32_t *bias_ids;
  const float *bias_values;
  const int32_t *count_ids, *counts, *seen_ids;
  const uint32_t *masks;
  int32_t vocab, mask_words;
} gust_sample_lists;

/* The lists from gust_sample's (and gust_verify_drafts') pointer arguments. */
static inline GUST_SC gust_sample_lists gust_make_lists(const void *bias_ids, const void *bias_values,
                                                        const void *count_ids, const void *counts,
                                                        const void *seen_ids, const void *masks, int32_t vocab) {
  gust_sample_lists l = {(const int32_t *)bias_ids, (const float *)bias_values, (const int32_t *)count_ids,
                         (const int32_t *)counts, (const int32_t *)seen_ids, (const uint32_t *)masks, vocab,
                         (vocab + 31) / 32};
  return l;
}

/* The first row whose slices name a list passed as NULL, or −1 (checked on the host, where the pointers are). */
static inline int32_t gust_row_with_null_list(const gust_sample_params *params, int32_t num_rows,
                                              const gust_sample_lists *l) {
  for (int32_t r = 0; r < num_rows; r++) {
    const gust_sample_params *p = &params[r];
    if ((p->bias_count > 0 && !(l->bias_ids && l->bias_values)) ||
        (p->counts_count > 0 && !(l->count_ids && l->counts)) || (p->seen_count > 0 && !l->seen_ids))
      return r;
  }
  return -1;
}

/* Why a row cannot be sampled (0: it can); gust_sample_problem_text names each. Checked on the device too. */
enum {
  GUST_SAMPLE_OK = 0,
  GUST_SAMPLE_LOGITS_ROW,
  GUST_SAMPLE_VOCAB_LIMIT,
  GUST_SAMPLE_PARAMS,
  GUST_SAMPLE_MASK_ROW,
  GUST_SAMPLE_NUM_LOGPROBS,
  GUST_SAMPLE_SLICE,
  GUST_SAMPLE_LIST_ID,
  GUST_SAMPLE_NO_FINITE
};

static inline const char *gust_sample_problem_text(int problem) {
  switch (problem) {
    case GUST_SAMPLE_LOGITS_ROW: return "its logits_row is outside the logits";
    case GUST_SAMPLE_VOCAB_LIMIT: return "its vocab_limit is outside [1, vocab]";
    case GUST_SAMPLE_PARAMS: return "a parameter is outside its range (temperature >= 0, top_p in (0, 1], min_p in "
                                    "[0, 1], repetition_penalty > 0, top_k >= 0)";
    case GUST_SAMPLE_MASK_ROW: return "its mask_row is outside [-1, num_masks)";
    case GUST_SAMPLE_NUM_LOGPROBS: return "num_logprobs is outside [-1, max_logprobs]";
    case GUST_SAMPLE_SLICE: return "a list slice has a negative start or count";
    case GUST_SAMPLE_LIST_ID: return "a bias, penalty or repetition id is outside the vocabulary";
    case GUST_SAMPLE_NO_FINITE: return "no finite logit to draw from (every id masked, -inf or NaN)";
    default: return "unknown problem";
  }
}

static inline GUST_SC int gust_sample_problem(const gust_sample_params *p, const gust_sample_lists *l,
                                              int32_t num_logit_rows, int32_t num_masks, int32_t max_logprobs) {
  if (p->logits_row < 0 || p->logits_row >= num_logit_rows) return GUST_SAMPLE_LOGITS_ROW;
  if (p->vocab_limit <= 0 || p->vocab_limit > l->vocab) return GUST_SAMPLE_VOCAB_LIMIT;
  if (!(p->temperature >= 0 && p->top_p > 0 && p->top_p <= 1 && p->min_p >= 0 && p->min_p <= 1 &&
        p->repetition_penalty > 0 && p->top_k >= 0))
    return GUST_SAMPLE_PARAMS;
  if (p->mask_row < -1 || p->mask_row >= num_masks) return GUST_SAMPLE_MASK_ROW;
  if (p->num_logprobs < -1 || p->num_logprobs > max_logprobs) return GUST_SAMPLE_NUM_LOGPROBS;
  if (p->bias_count < 0 || p->counts_count < 0 || p->seen_count < 0 || p->bias_start < 0 || p->counts_start < 0 ||
      p->seen_start < 0)
    return GUST_SAMPLE_SLICE;
  for (int32_t j = 0; j < p->bias_count; j++)
    if ((uint32_t)l->bias_ids[p->bias_start + j] >= (uint32_t)l->vocab) return GUST_SAMPLE_LIST_ID;
  for (int32_t j = 0; j < p->counts_count; j++)
    if ((uint32_t)l->count_ids[p->counts_start + j] >= (uint32_t)l->vocab) return GUST_SAMPLE_LIST_ID;
  for (int32_t j = 0; j < p->seen_count; j++)
    if ((uint32_t)l->seen_ids[p->seen_start + j] >= (uint32_t)l->vocab) return GUST_SAMPLE_LIST_ID;
  return GUST_SAMPLE_OK;
}

/* argmax over row[0, n), first index on ties; NaN never wins. */
static inline GUST_SC int32_t gust_row_argmax(const float *row, int32_t n) {
  int32_t best = 0;
  float best_v = -INFINITY;
  for (int32_t i = 0; i < n; i++)
    if (row[i] > best_v) {
      best_v = row[i];
      best = i;
    }
  return best;
}

/* log Σ exp(x − max) + max in f64 (logprobs.ts); NAN when the row has no usable maximum. */
static inline GUST_SC double gust_log_normaliser(const float *x, int32_t n) {
  double max = -INFINITY;
  for (int32_t i = 0; i < n; i++)
    if (x[i] > max) max = x[i];
  if (!(max > -INFINITY) || max == INFINITY) return NAN;
  double sum = 0;
  for (int32_t i = 0; i < n; i++) sum += exp((double)x[i] - max);
  return max + log(sum);
}

/* row = raw with the mask, the vocabulary limit, bias and penalties applied (f32 storage, f64 arithmetic, as the
 * spec's Float32Array updates round). */
static inline GUST_SC void gust_adjust_row(float *row, const float *raw, const gust_sample_params *p,
                                           const gust_sample_lists *l) {
  int32_t V = l->vocab;
  for (int32_t i = 0; i < V; i++) row[i] = raw[i];
  if (p->mask_row >= 0) {
    const uint32_t *bits = l->masks + (int64_t)p->mask_row * l->mask_words;
    for (int32_t i = 0; i < V; i++)
      if (!((bits[i >> 5] >> (i & 31)) & 1u)) row[i] = -INFINITY;
  }
  for (int32_t i = p->vocab_limit; i < V; i++) row[i] = -INFINITY;
  for (int32_t j = 0; j < p->bias_count; j++) {
    int32_t id = l->bias_ids[p->bias_start + j];
    row[id] = (float)((double)row[id] + (double)l->bias_values[p->bias_start + j]);
  }
  double r = p->repetition_penalty;
  if (r != 1.0)
    for (int32_t j = 0; j < p->seen_count; j++) {
      int32_t id = l->seen_ids[p->seen_start + j];
      double x = row[id];
      row[id] = (float)(x > 0 ? x / r : x * r);
    }
  double f = p->frequency_penalty, pr = p->presence_penalty;
  if (f != 0.0 || pr != 0.0)
    for (int32_t j = 0; j < p->counts_count; j++) {
      int32_t id = l->count_ids[p->counts_start + j];
      row[id] = (float)((double)row[id] - (f * (double)l->counts[p->counts_start + j] + pr));
    }
}

/* 1 when the mask, the vocabulary limit, a bias or a penalty changes the row (else the raw row is drawn from). */
static inline GUST_SC int gust_row_is_adjusted(const gust_sample_params *p, int32_t vocab) {
  return p->mask_row >= 0 || p->vocab_limit < vocab || p->bias_count > 0 ||
         (p->repetition_penalty != 1.0 && p->seen_count > 0) ||
         ((p->frequency_penalty != 0.0 || p->presence_penalty != 0.0) && p->counts_count > 0);
}

/* The row a draw reads: raw itself, or the adjusted copy in scratch_row (sampler.ts adjustLogits). */
static inline GUST_SC const float *gust_drawn_row(const float *raw, const gust_sample_params *p,
                                                 const gust_sample_lists *l, float *scratch_row) {
  if (!gust_row_is_adjusted(p, l->vocab)) return raw;
  gust_adjust_row(scratch_row, raw, p, l);
  return scratch_row;
}

/* w[i] = exp((row[i] − max) / T) by gust_exp_weight, the top one exactly 1 (sampler.ts #weights); *total = Σ w in
 * gust_fill_weights' order. Returns 0, or −1 when the row has no usable maximum. */
static inline GUST_SC int gust_row_weights(const float *row, int32_t V, int32_t imax, double T, double *w,
                                           double *total) {
  double max = row[imax];
  if (!(max > -INFINITY) || max == INFINITY) return -1;
  *total = GUST_FILL_WEIGHTS(row, V, max, T, w);
  return 0;
}

/* top-k, top-p, min-p over w (sampler.ts #truncate): the n kept ids in idx[0, n), or −1 for all. */
static inline GUST_SC int32_t gust_truncate(const gust_sample_params *p, int32_t V, const double *w, double total,
                                            int32_t *idx) {
  int32_t n = -1;
  double mass = total;
  if (p->top_k > 0) {
    if (p->top_k <= 256) gust_select_top_count_heap(w, V, p->top_k, idx);
    else {
      for (int32_t i = 0; i < V; i++) idx[i] = i;
      gust_select_top_count(idx, V, w, p->top_k);
    }
    n = p->top_k;
    mass = 0;
    for (int32_t j = 0; j < n; j++) mass += w[idx[j]];
  }
  if (p->top_p < 1.0) {
    int32_t count = n < 0 ? V : n, c = 0;
    double t = ((1 - p->top_p) * mass) / count;
    if (n < 0) {
      for (int32_t i = 0; i < V; i++)
        if (w[i] >= t) idx[c++] = i;
    } else {
      for (int32_t j = 0; j < n; j++)
        if (w[idx[j]] >= t) idx[c++] = idx[j];
    }
    n = gust_select_top_mass(idx, c, w, p->top_p * mass);
  }
  if (p->min_p > 0) {
    int32_t c = 0;
    if (n < 0) {
      for (int32_t i = 0; i < V; i++)
        if (w[i] >= p->min_p) idx[c++] = i;
    } else {
      for (int32_t j = 0; j < n; j++)
        if (w[idx[j]] >= p->min_p) idx[c++] = idx[j];
    }
    n = c;
  }
  return n;
}

/* The exponential race over idx[0, n) (all V ids when n < 0), starting from the top id imax (sampler.ts #race).
 * Two exact prunings skip the logarithm: an entry lighter than best_key · E_MIN cannot win (no hash either), nor can
 * one with w ≤ (1 − u) · best_key, because E = −ln u ≥ 1 − u; the slack covers f64 rounding. */
static inline GUST_SC int32_t gust_race(const gust_sample_params *p, int32_t V, const double *w, const int32_t *idx,
                                        int32_t n, int32_t imax) {
  const double e_min = -log((4294967296.0 - 1 + 0.5) / 4294967296.0), slack = 1 - 1e-9;
  uint32_t prefix = gust_counter_prefix(p->seed_lo, p->seed_hi, p->step);
  int32_t best = imax;
  double best_key = w[best] / gust_race_exponential(gust_counter_at(prefix, (uint32_t)best));
  double bound = best_key * slack, skip_below = bound * e_min;
  int32_t all = n < 0, count = all ? V : n;
  for (int32_t j = 0; j < count; j++) {
    int32_t i = all ? j : idx[j];
    double wi = w[i];
    if (wi <= skip_below) continue;
    double u = ((double)gust_counter_at(prefix, (uint32_t)i) + 0.5) / 4294967296.0;
    if (wi <= (1 - u) * bound) continue;
    double key = wi / -log(u);
    if (key > best_key || (key == best_key && i < best)) {
      best = i;
      best_key = key;
      bound = best_key * slack;
      skip_below = bound * e_min;
    }
  }
  return best;
}

/* Samples one row. scratch_row, w, idx: scratch of vocab entries. Returns the token, or −1 when a draw (temperature
 * > 0) finds no usable maximum in the adjusted row (every id masked or non-finite); greedy returns the first
 * index then, as the spec does. */
static inline GUST_SC int32_t gust_sample_one(const float *raw, const gust_sample_params *p,
                                              const gust_sample_lists *l, float *scratch_row, double *w,
                                              int32_t *idx) {
  int32_t V = l->vocab;
  const float *row = gust_drawn_row(raw, p, l, scratch_row);
  int32_t imax = GUST_ROW_ARGMAX(row, V);
  if (p->temperature == 0.0) return imax;
  double total;
  if (gust_row_weights(row, V, imax, p->temperature, w, &total) < 0) return -1;
  return gust_race(p, V, w, idx, gust_truncate(p, V, w, total, idx), imax);
}

/* log-probabilities of the raw row (logprobs.ts): out[0] = raw[token] − logZ, then the top k (value desc,
 * lower id first), their ids in top_ids; ids ≥ vocab_limit are never reported. */
static inline GUST_SC void gust_row_logprobs(const float *raw, int32_t vocab_limit, int32_t token, int32_t k,
                                             double *out, int32_t *top_ids) {
  double log_z = gust_log_normaliser(raw, vocab_limit);
  out[0] = (double)raw[token] - log_z;
  int32_t filled = 0;
  for (int32_t i = 0; i < vocab_limit && k > 0; i++) {
    double v = raw[i];
    if (v != v) continue;
    if (filled == k && !(v > out[k])) continue;
    int32_t j = filled < k ? filled++ : k - 1;
    while (j > 0 && v > out[j]) {
      out[j + 1] = out[j];
      top_ids[j] = top_ids[j - 1];
      j--;
    }
    out[j + 1] = v;
    top_ids[j] = i;
  }
  for (int32_t j = 0; j < k; j++) {
    if (j < filled) out[j + 1] -= log_z;
    else {
      out[j + 1] = NAN;
      top_ids[j] = -1;
    }
  }
}

#endif
