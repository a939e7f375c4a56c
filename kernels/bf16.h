/* bf16 encoding shared by the CPU and CUDA backends (the KV cache's default storage): one definition,
 * compiled for each, so both store the same bits for every float. Round to nearest even; NaN stays a
 * quiet NaN of the same sign. Not part of the ABI. */
#ifndef GUST_BF16_H
#define GUST_BF16_H

#include <stdint.h>
#include <string.h>

#ifdef __CUDACC__
#define GUST_BF16_HOST_DEVICE __host__ __device__
#else
#define GUST_BF16_HOST_DEVICE
#endif

/* Example: 1.00390625f = 0x3F808000 sits halfway between bf16 0x3F80 and 0x3F81; the tie goes to the
 * even 0x3F80. 1.01171875f = 0x3F818000 ties between 0x3F81 and 0x3F82 and goes up to 0x3F82. */
static inline GUST_BF16_HOST_DEVICE uint16_t gust_bf16_encode(float x) {
  uint32_t bits;
  memcpy(&bits, &x, 4);
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((bits >> 16) | 0x40);
  bits += 0x7FFFu + ((bits >> 16) & 1u);
  return (uint16_t)(bits >> 16);
}

#endif
