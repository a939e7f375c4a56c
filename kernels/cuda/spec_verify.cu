/* Speculative verification on the GPU: the shared proposal rule (kernels/spec_verify_core.h, the CPU's twin) run by
 * one thread per proposal, so its sums and draws happen in the spec's order. Scratch: (vocab + 1) · 24 bytes per
 * proposal from the shared scratch buffer. Compiled, never run in CI (no GPU). */
#include <math.h>

#include "../spec_verify_core.h"
#include "common.cuh"

namespace {

struct VerifyArgs {
  int32_t *accepted, *next;
  const float *logits;
  const gust_sample_params *params;
  gust_sample_lists lists;
  const gust_verify_proposal *proposals;
  const int32_t *draft_ids;
  const double *draft_probs;
  int32_t num_logit_rows, num_rows, num_masks, num_proposals, num_drafts;
  uint8_t *scratch;
  size_t scratch_per_proposal;
  GustDeviceErrors errs;
};

__global__ void verify_kernel(VerifyArgs a) {
  const int32_t j = blockIdx.x * blockDim.x + threadIdx.x;
  if (j >= a.num_proposals) return;
  const gust_verify_proposal pr = a.proposals[j];
  int problem = gust_verify_problem(&pr, a.params, a.num_rows, a.draft_ids, a.num_drafts, &a.lists,
                                    a.num_logit_rows, a.num_masks);
  int32_t accepted = -1, next = -1;
  if (!problem) {
    const int32_t V = a.lists.vocab;
    float *row = (float *)(a.scratch + (size_t)j * a.scratch_per_proposal);
    double *w = (double *)(row + V + (V & 1));
    double *p = w + V;
    int32_t *idx = (int32_t *)(p + V);
    const double *q = a.draft_probs ? a.draft_probs + (int64_t)pr.drafts_start * V : NULL;
    problem = gust_verify_one(a.logits, a.params + pr.first_row, pr.num_drafts, a.draft_ids + pr.drafts_start, q,
                              &a.lists, row, w, idx, p, &accepted, &next);
  }
  a.accepted[j] = accepted;
  a.next[j] = next;
  if (problem) gust_report(a.errs, GUST_CHECK_VERIFY_PROPOSAL, j, problem);
}

} /* namespace */

extern "C" int32_t gust_verify_drafts(void *out_accepted_i32, void *out_next_i32, const void *logits_f32,
                                      int32_t num_logit_rows, int32_t vocab, const void *params, int32_t num_rows,
                                      const void *bias_ids_i32, const void *bias_values_f32,
                                      const void *count_ids_i32, const void *counts_i32, const void *seen_ids_i32,
                                      const void *masks_u32, int32_t num_masks, const void *proposals,
                                      int32_t num_proposals, const void *draft_ids_i32,
                                      const void *draft_probs_f64, int32_t num_drafts) {
  GUST_REQUIRE(out_accepted_i32 && out_next_i32 && logits_f32 && params, "gust_verify_drafts: NULL pointer");
  GUST_REQUIRE(vocab > 0 && num_rows >= 0 && num_masks >= 0 && num_proposals >= 0 && num_drafts >= 0,
               "gust_verify_drafts: bad sizes");
  GUST_REQUIRE(num_proposals == 0 || proposals, "gust_verify_drafts: %d proposals but a NULL pointer",
               num_proposals);
  GUST_REQUIRE(num_drafts == 0 || (draft_ids_i32 && draft_probs_f64),
               "gust_verify_drafts: %d drafts but a NULL draft_ids or draft_probs", num_drafts);
  GUST_REQUIRE(num_masks == 0 || masks_u32, "gust_verify_drafts: %d masks but a NULL mask pointer", num_masks);
  GUST_TRY(gust_require_init("gust_verify_drafts"));
  if (num_proposals == 0) return GUST_OK;
  VerifyArgs a;
  a.accepted = (int32_t *)out_accepted_i32;
  a.next = (int32_t *)out_next_i32;
  a.logits = (const float *)logits_f32;
  a.params = (const gust_sample_params *)params;
  a.lists = gust_make_lists(bias_ids_i32, bias_values_f32, count_ids_i32, counts_i32, seen_ids_i32, masks_u32, vocab);
  a.proposals = (const gust_verify_proposal *)proposals;
  a.draft_ids = (const int32_t *)draft_ids_i32;
  a.draft_probs = (const double *)draft_probs_f64;
  a.num_logit_rows = num_logit_rows;
  a.num_rows = num_rows;
  a.num_masks = num_masks;
  a.num_proposals = num_proposals;
  a.num_drafts = num_drafts;
  a.scratch_per_proposal = (size_t)(vocab + 1) * (sizeof(float) + 2 * sizeof(double) + sizeof(int32_t));
  void *scratch = NULL;
  GUST_TRY(gust_scratch("gust_verify_drafts", a.scratch_per_proposal * (size_t)num_proposals, &scratch));
  a.scratch = (uint8_t *)scratch;
  a.errs = g_cuda.errors;
  verify_kernel<<<(num_proposals + 31) / 32, 32, 0, g_cuda.stream>>>(a);
  return gust_after_launch("gust_verify_drafts");
}
