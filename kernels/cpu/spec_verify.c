/* Speculative verification on the CPU: the shared proposal rule (kernels/spec_verify_core.h) over a batch of
 * proposals, proposals in parallel. */
#include "internal.h"
/* after internal.h: its AVX2 twins replace the scalar loops */
#include "../spec_verify_core.h"

int32_t gust_verify_drafts(void *out_accepted_i32, void *out_next_i32, const void *logits_f32, int32_t num_logit_rows,
                           int32_t vocab, const void *params_v, int32_t num_rows, const void *bias_ids_i32,
                           const void *bias_values_f32, const void *count_ids_i32, const void *counts_i32,
                           const void *seen_ids_i32, const void *masks_u32, int32_t num_masks, const void *proposals_v,
                           int32_t num_proposals, const void *draft_ids_i32, const void *draft_probs_f64,
                           int32_t num_drafts) {
  GUST_REQUIRE(out_accepted_i32 && out_next_i32 && logits_f32 && params_v, "gust_verify_drafts: NULL pointer");
  GUST_REQUIRE(vocab > 0 && num_rows >= 0 && num_masks >= 0 && num_proposals >= 0 && num_drafts >= 0,
               "gust_verify_drafts: bad sizes");
  GUST_REQUIRE(num_proposals == 0 || proposals_v, "gust_verify_drafts: %d proposals but a NULL pointer",
               num_proposals);
  GUST_REQUIRE(num_drafts == 0 || (draft_ids_i32 && draft_probs_f64),
               "gust_verify_drafts: %d drafts but a NULL draft_ids or draft_probs", num_drafts);
  GUST_REQUIRE(num_masks == 0 || masks_u32, "gust_verify_drafts: %d masks but a NULL mask pointer", num_masks);
  const gust_sample_params *params = (const gust_sample_params *)params_v;
  const gust_verify_proposal *proposals = (const gust_verify_proposal *)proposals_v;
  const int32_t *draft_ids = (const int32_t *)draft_ids_i32;
  gust_sample_lists lists = gust_make_lists(bias_ids_i32, bias_values_f32, count_ids_i32, counts_i32, seen_ids_i32,
                                            masks_u32, vocab);
  int32_t null_row = gust_row_with_null_list(params, num_rows, &lists);
  GUST_REQUIRE(null_row < 0, "gust_verify_drafts: row %d names a list passed as NULL", null_row);
  for (int32_t j = 0; j < num_proposals; j++) {
    int problem = gust_verify_problem(&proposals[j], params, num_rows, draft_ids, num_drafts, &lists, num_logit_rows,
                                      num_masks);
    if (problem)
      return gust_fail(GUST_ERR_INVALID_ARGUMENT, "gust_verify_drafts: proposal %d: %s", j,
                       gust_verify_problem_text(problem));
  }
  const float *logits = (const float *)logits_f32;
  const double *q = (const double *)draft_probs_f64;
  int32_t *accepted = (int32_t *)out_accepted_i32, *next = (int32_t *)out_next_i32;
  int32_t failed = -1, no_memory = 0;

#pragma omp parallel if (num_proposals > 1)
  {
    /* per-thread scratch: the adjusted row, then (8-byte aligned) the weights, p, and the index list */
    float *row = (float *)gust_thread_scratch((size_t)(vocab + 1) * (sizeof(float) + 2 * sizeof(double) +
                                                                      sizeof(int32_t)));
    double *w = row ? (double *)(row + vocab + (vocab & 1)) : NULL;
    double *p = w ? w + vocab : NULL;
    int32_t *idx = p ? (int32_t *)(p + vocab) : NULL;
    if (!row) {
#pragma omp atomic write
      no_memory = 1;
    }
#pragma omp for schedule(dynamic, 1)
    for (int32_t j = 0; j < num_proposals; j++) {
      if (!row) continue;
      const gust_verify_proposal *pr = &proposals[j];
      int problem = gust_verify_one(logits, params + pr->first_row, pr->num_drafts, draft_ids + pr->drafts_start,
                                    q ? q + (size_t)pr->drafts_start * vocab : NULL, &lists, row, w, idx, p,
                                    &accepted[j], &next[j]);
      if (problem) {
#pragma omp critical
        if (failed < 0 || j < failed) failed = j;
      }
    }
  }
  if (no_memory) return gust_fail(GUST_ERR_OUT_OF_MEMORY, "gust_verify_drafts: no memory for a proposal's scratch");
  if (failed >= 0)
    return gust_fail(GUST_ERR_INVALID_ARGUMENT, "gust_verify_drafts: proposal %d: %s", failed,
                     gust_sample_problem_text(GUST_SAMPLE_NO_FINITE));
  return GUST_OK;
}
