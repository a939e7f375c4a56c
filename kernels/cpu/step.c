/* gust_step on the CPU: the shared step body (kernels/step_core.h) over this library's kernels. */
#include "internal.h"

#include "../step_core.h"

int32_t gust_step(const void *desc) {
  GUST_REQUIRE(desc, "gust_step: NULL descriptor");
  return gust_step_run((const gust_step_desc *)desc);
}

int32_t gust_launch_count(void *out_u64) {
  GUST_REQUIRE(out_u64, "gust_launch_count: NULL pointer");
  *(uint64_t *)out_u64 = 0; /* the CPU library runs its kernels in the calling thread: nothing is launched */
  return GUST_OK;
}
