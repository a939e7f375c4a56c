/* gust_step on CUDA: the shared step body (kernels/step_core.h) queues every kernel of the step on the library's
 * stream from one host call. Recording it as a CUDA graph per decode bucket (batch 1, 2, 4 … 128) and replaying
 * it is the next step here; compiled, never run in CI (no GPU). */
#include "common.cuh"

#include "../step_core.h"

int32_t gust_step(const void *desc) {
  GUST_REQUIRE(desc, "gust_step: NULL descriptor");
  return gust_step_run((const gust_step_desc *)desc);
}
