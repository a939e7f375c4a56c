/* Element-wise and row ops the vision path adds: exact GELU (the projector's activation) and a row
 * scatter (writes projector outputs into the [IMG] rows of the decoder's residual stream). */
#include "internal.h"

#define PARALLEL_MIN_WORK 32768

int32_t gust_gelu(void *out_f32, const void *x_f32, uint64_t n) {
  GUST_REQUIRE(out_f32 && x_f32, "gust_gelu: NULL pointer");
  float *out = (float *)out_f32;
  const float *x = (const float *)x_f32;
  /* the erf form, not the tanh approximation: transformers' "gelu" is nn.GELU() with approximate="none" */
#pragma omp parallel for if (n > PARALLEL_MIN_WORK)
  for (uint64_t i = 0; i < n; i++) out[i] = 0.5f * x[i] * (1.0f + erff(x[i] * (float)M_SQRT1_2));
  return GUST_OK;
}

int32_t gust_scatter_rows(void *out_f32, const void *x_f32, const void *rows_i32, int32_t num_rows, int32_t row_len,
                          int32_t num_dst_rows) {
  GUST_REQUIRE(out_f32 && x_f32 && rows_i32, "gust_scatter_rows: NULL pointer");
  GUST_REQUIRE(num_rows >= 0 && row_len > 0, "gust_scatter_rows: bad shape (%d rows of %d)", num_rows, row_len);
  const int32_t *rows = (const int32_t *)rows_i32;
  for (int32_t r = 0; r < num_rows; r++)
    GUST_REQUIRE(rows[r] >= 0 && rows[r] < num_dst_rows, "gust_scatter_rows: destination row %d (source row %d) is outside [0, %d)",
                 rows[r], r, num_dst_rows);
  float *out = (float *)out_f32;
  const float *x = (const float *)x_f32;
  for (int32_t r = 0; r < num_rows; r++)
    memcpy(out + (size_t)rows[r] * row_len, x + (size_t)r * row_len, sizeof(float) * (size_t)row_len);
  return GUST_OK;
}
