/* Native sampling on the GPU: the shared row algorithm (kernels/sample_core.h, the CPU's twin) run by one thread
 * per row, so its selections and sums happen in the spec's order. Simple and correct first: a row's exp pass
 * and race are serial in that thread (block-parallel weights and a parallel race are the next step). Scratch:
 * (vocab + 1) · 16 bytes per row from the shared scratch buffer (32 MiB at batch 16 and vocab 131,072). */
#include <math.h>

#include "../sample_core.h"
#include "common.cuh"

namespace {

struct SampleArgs {
  int32_t *tokens;
  double *logprobs;
  int32_t *top_ids;
  const float *logits;
  const gust_sample_params *params;
  gust_sample_lists lists;
  int32_t num_logit_rows, num_rows, num_masks, max_logprobs;
  uint8_t *scratch;
  size_t scratch_per_row;
  GustDeviceErrors errs;
};

__global__ void sample_kernel(SampleArgs a) {
  const int32_t r = blockIdx.x * blockDim.x + threadIdx.x;
  if (r >= a.num_rows) return;
  const gust_sample_params p = a.params[r];
  int problem = gust_sample_problem(&p, &a.lists, a.num_logit_rows, a.num_masks, a.max_logprobs);
  const int32_t V = a.lists.vocab;
  int32_t token = -1;
  if (!problem) {
    float *row = (float *)(a.scratch + (size_t)r * a.scratch_per_row);
    double *w = (double *)(row + V + (V & 1));
    int32_t *idx = (int32_t *)(w + V);
    const float *raw = a.logits + (int64_t)p.logits_row * V;
    token = gust_sample_one(raw, &p, &a.lists, row, w, idx);
    if (token < 0) problem = GUST_SAMPLE_NO_FINITE;
    else {
      double *lp = a.logprobs + (int64_t)r * (1 + a.max_logprobs);
      int32_t *top = a.top_ids + (int64_t)r * a.max_logprobs;
      const int32_t asked = p.num_logprobs < 0 ? 0 : p.num_logprobs;
      if (p.num_logprobs >= 0) gust_row_logprobs(raw, p.vocab_limit, token, asked, lp, top);
      else lp[0] = NAN;
      for (int32_t j = asked; j < a.max_logprobs; j++) {
        lp[j + 1] = NAN;
        top[j] = -1;
      }
    }
  }
  a.tokens[r] = token;
  if (problem) gust_report(a.errs, GUST_CHECK_SAMPLE_ROW, r, problem);
}

__global__ void weights_kernel(double *out, double *totals, const float *logits, int32_t num_rows, int32_t vocab,
                               double temperature) {
  const int32_t r = blockIdx.x * blockDim.x + threadIdx.x;
  if (r >= num_rows) return;
  const float *row = logits + (int64_t)r * vocab;
  double *w = out + (int64_t)r * vocab, total;
  if (gust_row_weights(row, vocab, gust_row_argmax(row, vocab), temperature, w, &total) < 0) {
    for (int32_t i = 0; i < vocab; i++) w[i] = 0;
    total = NAN;
  }
  totals[r] = total;
}

} /* namespace */

extern "C" int32_t gust_sample(void *out_tokens_i32, void *out_logprobs_f64, void *out_top_ids_i32,
                               const void *logits_f32, int32_t num_logit_rows, int32_t vocab, const void *params,
                               int32_t num_rows, const void *bias_ids_i32, const void *bias_values_f32,
                               const void *count_ids_i32, const void *counts_i32, const void *seen_ids_i32,
                               const void *masks_u32, int32_t num_masks, int32_t max_logprobs) {
  GUST_REQUIRE(out_tokens_i32 && logits_f32 && params, "gust_sample: NULL pointer");
  GUST_REQUIRE(vocab > 0 && num_rows >= 0 && max_logprobs >= 0 && num_masks >= 0, "gust_sample: bad sizes");
  GUST_REQUIRE(out_logprobs_f64 && out_top_ids_i32, "gust_sample: NULL log-probability outputs");
  GUST_REQUIRE(num_masks == 0 || masks_u32, "gust_sample: %d masks but a NULL mask pointer", num_masks);
  GUST_TRY(gust_require_init("gust_sample"));
  if (num_rows == 0) return GUST_OK;
  SampleArgs a;
  a.tokens = (int32_t *)out_tokens_i32;
  a.logprobs = (double *)out_logprobs_f64;
  a.top_ids = (int32_t *)out_top_ids_i32;
  a.logits = (const float *)logits_f32;
  a.params = (const gust_sample_params *)params;
  a.lists = gust_make_lists(bias_ids_i32, bias_values_f32, count_ids_i32, counts_i32, seen_ids_i32, masks_u32, vocab);
  a.num_logit_rows = num_logit_rows;
  a.num_rows = num_rows;
  a.num_masks = num_masks;
  a.max_logprobs = max_logprobs;
  a.scratch_per_row = (size_t)(vocab + 1) * (sizeof(float) + sizeof(double) + sizeof(int32_t));
  void *scratch = NULL;
  GUST_TRY(gust_scratch("gust_sample", a.scratch_per_row * (size_t)num_rows, &scratch));
  a.scratch = (uint8_t *)scratch;
  a.errs = g_cuda.errors;
  sample_kernel<<<(num_rows + 31) / 32, 32, 0, g_cuda.stream>>>(a);
  return gust_after_launch("gust_sample");
}

extern "C" int32_t gust_sample_weights(void *out_f64, void *out_totals_f64, const void *logits_f32, int32_t num_rows, int32_t vocab,
                                       double temperature) {
  GUST_REQUIRE(out_f64 && out_totals_f64 && logits_f32, "gust_sample_weights: NULL pointer");
  GUST_REQUIRE(num_rows >= 0 && vocab > 0, "gust_sample_weights: bad sizes");
  GUST_REQUIRE(temperature > 0, "gust_sample_weights: temperature must be > 0, got %g", temperature);
  GUST_TRY(gust_require_init("gust_sample_weights"));
  if (num_rows == 0) return GUST_OK;
  weights_kernel<<<(num_rows + 31) / 32, 32, 0, g_cuda.stream>>>((double *)out_f64, (double *)out_totals_f64,
                                                                  (const float *)logits_f32, num_rows, vocab,
                                                                  temperature);
  return gust_after_launch("gust_sample_weights");
}
