/* FP8 E4M3 (float8_e4m3fn) encoding and decoding: the scalar reference every fast path is checked against. */
#include "../e4m3.h"
#include "internal.h"

float gust_e4m3_table[256];

void gust_fp8_init(void) {
  for (int code = 0; code < 256; code++) {
    float sign = (code & 0x80) ? -1.0f : 1.0f;
    int e = (code >> 3) & 0xF, m = code & 7;
    if (e == 0xF && m == 7) gust_e4m3_table[code] = NAN;
    else if (e == 0) gust_e4m3_table[code] = sign * ldexpf((float)m, -9); /* m/8 · 2^-6 */
    else gust_e4m3_table[code] = sign * ldexpf(1.0f + m / 8.0f, e - 7);
  }
}

uint8_t gust_f32_to_e4m3(float x) { return gust_e4m3_encode(x); }

int32_t gust_fp8_quantize(void *codes_u8, const void *x_f32, uint64_t n, float scale) {
  GUST_REQUIRE(codes_u8 && x_f32, "gust_fp8_quantize: NULL pointer");
  GUST_REQUIRE(scale > 0.0f && isfinite(scale), "gust_fp8_quantize: scale must be a positive finite number, got %g",
               (double)scale);
  uint8_t *codes = (uint8_t *)codes_u8;
  const float *x = (const float *)x_f32;
  for (uint64_t i = 0; i < n; i++) codes[i] = gust_f32_to_e4m3(x[i] / scale);
  return GUST_OK;
}

int32_t gust_fp8_dequantize(void *y_f32, const void *codes_u8, uint64_t n, float scale) {
  GUST_REQUIRE(y_f32 && codes_u8, "gust_fp8_dequantize: NULL pointer");
  float *y = (float *)y_f32;
  const uint8_t *codes = (const uint8_t *)codes_u8;
  for (uint64_t i = 0; i < n; i++) y[i] = gust_e4m3_table[codes[i]] * scale;
  return GUST_OK;
}
