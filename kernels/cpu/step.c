/* gust_step on the CPU: the shared step body (kernels/step_core.h) over this library's kernels. */
#include "internal.h"

#include "../step_core.h"

int32_t gust_step(const void *desc) {
  GUST_REQUIRE(desc, "gust_step: NULL descriptor");
  return gust_step_run((const gust_step_desc *)desc);
}
