/* gust_step on CUDA: the shared step body (kernels/step_core.h) queues every kernel of the step on the library's
 * stream from one host call; a step flagged GUST_STEP_GRAPH (a padded decode bucket) goes through step_graph.cu,
 * which records it once as a CUDA graph and replays it. Compiled, never run in CI (no GPU). */
#include "common.cuh"

#include "../step_core.h"

int32_t gust_step_graph(const gust_step_desc *d);

int32_t gust_step(const void *desc) {
  GUST_REQUIRE(desc, "gust_step: NULL descriptor");
  GUST_TRY(gust_require_init("gust_step"));
  const gust_step_desc *d = (const gust_step_desc *)desc;
  if (d->flags & GUST_STEP_GRAPH) return gust_step_graph(d);
  return gust_step_run(d);
}

int32_t gust_launch_count(void *out_u64) {
  GUST_REQUIRE(out_u64, "gust_launch_count: NULL pointer");
  *(uint64_t *)out_u64 = g_cuda.launches;
  g_cuda.launches = 0;
  return GUST_OK;
}
