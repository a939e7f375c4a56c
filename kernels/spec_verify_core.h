/* Speculative verification of one proposal, shared by the CPU backend (C) and the CUDA backend (one thread per
 * proposal): a port of verifyDrafts in runtime/eagle/verify.ts, the readable spec, in the same summation orders, so
 * the same seeds, logits and draft probabilities give the same accepted count and next token. Not part of the ABI.
 *
 * Row i of a proposal scores the token after drafts[0, i) (its params carry the penalties of that prefix and
 * step = first step + i). Greedy rows (temperature 0) keep drafts while they equal the row's argmax. Sampled rows
 * accept draft d with probability min(1, p(d) / q(d)) (p: the row's processed distribution, q: the draft's) and on
 * rejection draw from normalise(max(0, p − q)) by inverse CDF. Uniforms come from the counter hash at lanes beyond
 * the vocabulary: u = (murmur3(seed, step, vocab + lane) + 0.5) / 2^32, lane 2 to accept, 3 for the residual.
 * Example, k = 2, V = 8: drafts [5, 1]; row 0 accepts 5 (u_accept < p0(5)/q0(5)), row 1 rejects 1 and the residual
 * draw gives 4 → accepted 1, next 4. */
#ifndef GUST_SPEC_VERIFY_CORE_H
#define GUST_SPEC_VERIFY_CORE_H

#include "sample_core.h"

enum { GUST_LANE_ACCEPT = 2, GUST_LANE_RESIDUAL = 3 };

/* Why a proposal cannot be verified, after the sample problems (sample_core.h) its rows may have. */
enum { GUST_VERIFY_ROWS = 100, GUST_VERIFY_DRAFTS, GUST_VERIFY_DRAFT_ID };

static inline const char *gust_verify_problem_text(int problem) {
  switch (problem) {
    case GUST_VERIFY_ROWS: return "its rows [first_row, first_row + num_drafts] are outside [0, num_rows)";
    case GUST_VERIFY_DRAFTS: return "its drafts [drafts_start, drafts_start + num_drafts) are outside [0, num_drafts)";
    case GUST_VERIFY_DRAFT_ID: return "a draft id is outside the vocabulary";
    default: return gust_sample_problem_text(problem);
  }
}

/* 0 when proposal pr can be verified: its rows, its drafts and each of its rows' params and lists are in range. */
static inline GUST_SC int gust_verify_problem(const gust_verify_proposal *pr, const gust_sample_params *params,
                                              int32_t num_rows, const int32_t *draft_ids, int32_t num_drafts,
                                              const gust_sample_lists *l, int32_t num_logit_rows, int32_t num_masks) {
  if (pr->first_row < 0 || pr->num_drafts < 0 || pr->first_row >= num_rows - pr->num_drafts) return GUST_VERIFY_ROWS;
  if (pr->drafts_start < 0 || pr->drafts_start > num_drafts - pr->num_drafts) return GUST_VERIFY_DRAFTS;
  for (int32_t i = 0; i < pr->num_drafts; i++)
    if ((uint32_t)draft_ids[pr->drafts_start + i] >= (uint32_t)l->vocab) return GUST_VERIFY_DRAFT_ID;
  for (int32_t i = 0; i <= pr->num_drafts; i++) {
    /* log-probabilities are not computed here: any num_logprobs ≥ −1 passes */
    int problem = gust_sample_problem(&params[pr->first_row + i], l, num_logit_rows, num_masks, 0x7fffffff);
    if (problem) return problem;
  }
  return 0;
}

/* The counter-hash uniform of one lane at row p's (seed, step) (verify.ts laneUniform). */
static inline GUST_SC double gust_lane_uniform(const gust_sample_params *p, int32_t vocab, int32_t lane) {
  uint32_t h = gust_counter_at(gust_counter_prefix(p->seed_lo, p->seed_hi, p->step), (uint32_t)(vocab + lane));
  return ((double)h + 0.5) / 4294967296.0;
}

/* Inverse-CDF draw from non-negative weights (verify.ts drawFrom): the first id where u · Σw runs out. */
static inline GUST_SC int32_t gust_draw_from(const double *weights, int32_t V, double u) {
  double total = 0;
  for (int32_t i = 0; i < V; i++) total += weights[i];
  double target = u * total;
  int32_t last = -1;
  for (int32_t i = 0; i < V; i++) {
    if (weights[i] <= 0) continue;
    last = i;
    target -= weights[i];
    if (target < 0) return i;
  }
  return last;
}

/* p = the row's processed distribution (sampler.ts distribution, temperature > 0): the truncated weights, zero
 * elsewhere, divided by their sum in index order. Returns 0, or −1 when the row has no usable maximum. */
static inline GUST_SC int gust_row_distribution(const float *raw, const gust_sample_params *pr,
                                                const gust_sample_lists *l, float *scratch_row, double *w,
                                                int32_t *idx, double *p) {
  int32_t V = l->vocab;
  const float *row = gust_drawn_row(raw, pr, l, scratch_row);
  double total, mass = 0;
  if (gust_row_weights(row, V, GUST_ROW_ARGMAX(row, V), pr->temperature, w, &total) < 0) return -1;
  int32_t n = gust_truncate(pr, V, w, total, idx);
  if (n < 0)
    for (int32_t i = 0; i < V; i++) p[i] = w[i];
  else {
    for (int32_t i = 0; i < V; i++) p[i] = 0;
    for (int32_t j = 0; j < n; j++) p[idx[j]] = w[idx[j]];
  }
  for (int32_t i = 0; i < V; i++) mass += p[i];
  for (int32_t i = 0; i < V; i++) p[i] /= mass;
  return 0;
}

/* Verifies one proposal: rows[0, k] its params, drafts[0, k) its tokens, q[j · V, (j + 1) · V) draft j's
 * probabilities (read only by sampled rows). Scratch: scratch_row, w, idx, p of vocab entries each. Writes the
 * accepted count and the next token (the correction, or the bonus draw when all k are accepted); returns 0, or
 * GUST_SAMPLE_NO_FINITE when a sampled row has no usable maximum. */
static inline GUST_SC int gust_verify_one(const float *logits, const gust_sample_params *rows, int32_t k,
                                          const int32_t *drafts, const double *q, const gust_sample_lists *l,
                                          float *scratch_row, double *w, int32_t *idx, double *p, int32_t *accepted,
                                          int32_t *next) {
  const int32_t V = l->vocab;
  for (int32_t i = 0; i < k; i++) {
    const gust_sample_params *r = &rows[i];
    const float *raw = logits + (int64_t)r->logits_row * V;
    const int32_t d = drafts[i];
    if (r->temperature == 0.0) {
      int32_t choice = gust_sample_one(raw, r, l, scratch_row, w, idx);
      if (choice == d) continue;
      *accepted = i;
      *next = choice;
      return 0;
    }
    if (gust_row_distribution(raw, r, l, scratch_row, w, idx, p) < 0) return GUST_SAMPLE_NO_FINITE;
    const double *qi = q + (int64_t)i * V;
    double ratio = qi[d] > 0 ? p[d] / qi[d] : 0;
    if (gust_lane_uniform(r, V, GUST_LANE_ACCEPT) < (ratio < 1 ? ratio : 1)) continue;
    double mass = 0; /* the residual max(0, p − q), reusing w */
    for (int32_t t = 0; t < V; t++) {
      double diff = p[t] - qi[t];
      mass += w[t] = diff > 0 ? diff : 0;
    }
    *accepted = i;
    *next = gust_draw_from(mass > 0 ? w : p, V, gust_lane_uniform(r, V, GUST_LANE_RESIDUAL));
    return 0;
  }
  const gust_sample_params *r = &rows[k];
  int32_t bonus = gust_sample_one(logits + (int64_t)r->logits_row * V, r, l, scratch_row, w, idx);
  if (bonus < 0) return GUST_SAMPLE_NO_FINITE;
  *accepted = k;
  *next = bonus;
  return 0;
}

#endif
