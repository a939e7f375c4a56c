/* Native sampling on the CPU: the shared row algorithm (kernels/sample_core.h) over a batch, rows in parallel. */
#include <stdlib.h>

#include "internal.h"
/* after internal.h: its AVX2 twins replace the scalar loops */
#include "../sample_core.h"

/* Scratch kept per thread across calls (OpenMP threads persist): a fresh 2 MiB buffer per call would cost its
 * page faults every step. Grown on demand, never shrunk; gust_verify_drafts (spec_verify.c) shares it. */
void *gust_thread_scratch(size_t bytes) {
  static __thread void *buffer = NULL;
  static __thread size_t capacity = 0;
  if (bytes > capacity) {
    free(buffer);
    buffer = malloc(bytes);
    capacity = buffer ? bytes : 0;
  }
  return buffer;
}

/* Writes row r's log-probabilities (NaN / −1 where not asked) into its [1 + max_logprobs] and [max_logprobs]. */
static void row_logprobs(const float *raw, const gust_sample_params *p, int32_t token, int32_t max_logprobs,
                         double *lp, int32_t *top) {
  int32_t asked = p->num_logprobs < 0 ? 0 : p->num_logprobs;
  if (p->num_logprobs >= 0) gust_row_logprobs(raw, p->vocab_limit, token, asked, lp, top);
  else lp[0] = NAN;
  for (int32_t j = asked; j < max_logprobs; j++) {
    lp[j + 1] = NAN;
    top[j] = -1;
  }
}

int32_t gust_sample(void *out_tokens_i32, void *out_logprobs_f64, void *out_top_ids_i32, const void *logits_f32,
                    int32_t num_logit_rows, int32_t vocab, const void *params_v, int32_t num_rows,
                    const void *bias_ids_i32, const void *bias_values_f32, const void *count_ids_i32,
                    const void *counts_i32, const void *seen_ids_i32, const void *masks_u32, int32_t num_masks,
                    int32_t max_logprobs) {
  GUST_REQUIRE(out_tokens_i32 && logits_f32 && params_v, "gust_sample: NULL pointer");
  GUST_REQUIRE(vocab > 0 && num_rows >= 0 && max_logprobs >= 0 && num_masks >= 0, "gust_sample: bad sizes");
  GUST_REQUIRE(out_logprobs_f64 && out_top_ids_i32, "gust_sample: NULL log-probability outputs");
  GUST_REQUIRE(num_masks == 0 || masks_u32, "gust_sample: %d masks but a NULL mask pointer", num_masks);
  const gust_sample_params *params = (const gust_sample_params *)params_v;
  gust_sample_lists lists = gust_make_lists(bias_ids_i32, bias_values_f32, count_ids_i32, counts_i32, seen_ids_i32,
                                            masks_u32, vocab);
  int32_t null_row = gust_row_with_null_list(params, num_rows, &lists);
  GUST_REQUIRE(null_row < 0, "gust_sample: row %d names a list passed as NULL", null_row);
  for (int32_t r = 0; r < num_rows; r++) {
    const gust_sample_params *p = &params[r];
    int problem = gust_sample_problem(p, &lists, num_logit_rows, num_masks, max_logprobs);
    if (problem)
      return gust_fail(GUST_ERR_INVALID_ARGUMENT, "gust_sample: row %d: %s", r, gust_sample_problem_text(problem));
  }
  const float *logits = (const float *)logits_f32;
  int32_t *tokens = (int32_t *)out_tokens_i32;
  int32_t failed_row = -1, no_memory = 0;

#pragma omp parallel if (num_rows > 1)
  {
    /* per-thread scratch: the adjusted row, then (8-byte aligned) the weights, then the index list */
    float *row = (float *)gust_thread_scratch((size_t)(vocab + 1) * (sizeof(float) + sizeof(double) + sizeof(int32_t)));
    double *w = row ? (double *)(row + vocab + (vocab & 1)) : NULL;
    int32_t *idx = w ? (int32_t *)(w + vocab) : NULL;
    if (!row) {
#pragma omp atomic write
      no_memory = 1;
    }
#pragma omp for schedule(dynamic, 1)
    for (int32_t r = 0; r < num_rows; r++) {
      if (!row) continue;
      const gust_sample_params *p = &params[r];
      const float *raw = logits + (size_t)p->logits_row * vocab;
      int32_t token = gust_sample_one(raw, p, &lists, row, w, idx);
      tokens[r] = token;
      if (token < 0) {
#pragma omp critical
        if (failed_row < 0 || r < failed_row) failed_row = r;
        continue;
      }
      row_logprobs(raw, p, token, max_logprobs, (double *)out_logprobs_f64 + (size_t)r * (1 + max_logprobs),
                   (int32_t *)out_top_ids_i32 + (size_t)r * max_logprobs);
    }
  }
  if (no_memory) return gust_fail(GUST_ERR_OUT_OF_MEMORY, "gust_sample: no memory for a row's scratch");
  if (failed_row >= 0)
    return gust_fail(GUST_ERR_INVALID_ARGUMENT, "gust_sample: row %d: %s", failed_row,
                     gust_sample_problem_text(GUST_SAMPLE_NO_FINITE));
  return GUST_OK;
}

int32_t gust_sample_weights(void *out_f64, void *out_totals_f64, const void *logits_f32, int32_t num_rows, int32_t vocab,
                            double temperature) {
  GUST_REQUIRE(out_f64 && out_totals_f64 && logits_f32, "gust_sample_weights: NULL pointer");
  GUST_REQUIRE(num_rows >= 0 && vocab > 0, "gust_sample_weights: bad sizes");
  GUST_REQUIRE(temperature > 0, "gust_sample_weights: temperature must be > 0, got %g", temperature);
  for (int32_t r = 0; r < num_rows; r++) {
    const float *row = (const float *)logits_f32 + (size_t)r * vocab;
    double *w = (double *)out_f64 + (size_t)r * vocab, total;
    if (gust_row_weights(row, vocab, GUST_ROW_ARGMAX(row, vocab), temperature, w, &total) < 0) {
      for (int32_t i = 0; i < vocab; i++) w[i] = 0;
      total = NAN;
    }
    ((double *)out_totals_f64)[r] = total;
  }
  return GUST_OK;
}
