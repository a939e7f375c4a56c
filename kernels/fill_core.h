/* Random weights without a checkpoint (gust_fill_random), shared by the CPU and CUDA libraries: element i of a
 * tensor is a pure function of (seed, tensor id, i), so any slice of any tensor can be made on the device in
 * parallel and a TypeScript twin (runtime/weights/random-fill.ts) reproduces it bit for bit. Not part of the ABI.
 *
 * Hash: the sampler's counter hash (MurmurHash3_x86_32 over four words, kernels/counter_hash.h) of
 * [seed, tensor_id, index >> 32, index & 0xFFFFFFFF].
 * e4m3: code = (bit 31 of h) << 7 | (h & 0x3F): a random sign, exponent field 0..7, so |value| ≤ 1.875 and never
 *   the NaN codes 0x7F/0xFF (those need exponent 15). Example: h = 0x80000025 → code 0xA5 = −(1 + 5/8) · 2^−3.
 * f32/bf16: u = (h >> 8) · 2^−23 − 1 (exact, in [−1, 1)), value = f32(f32(scale · u) + offset), two roundings and
 *   no fused multiply-add (the CUDA twin spells both with _rn intrinsics), then bf16 rounds to nearest even. */
#ifndef GUST_FILL_CORE_H
#define GUST_FILL_CORE_H

#include <stdint.h>

#include "bf16.h"
#include "counter_hash.h"

static inline GUST_SC uint32_t gust_fill_hash(uint32_t seed, uint32_t tensor_id, uint64_t index) {
  return gust_counter_at(gust_counter_prefix(seed, tensor_id, (uint32_t)(index >> 32)), (uint32_t)index);
}

static inline GUST_SC uint8_t gust_fill_e4m3(uint32_t h) { return (uint8_t)(((h >> 24) & 0x80u) | (h & 0x3Fu)); }

static inline GUST_SC float gust_fill_uniform(uint32_t h) { return (float)(h >> 8) * (1.0f / 8388608.0f) - 1.0f; }

#endif
