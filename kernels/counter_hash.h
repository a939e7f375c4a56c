/* The counter hash (runtime/sampling/counter-hash.ts is the spec): MurmurHash3_x86_32 with seed 0 over four
 * little-endian words (seed_lo, seed_hi, step, index), split so a whole row shares the first three blocks. Shared by
 * the samplers (sample_core.h) and gust_fill_random (fill_core.h). Not part of the ABI. */
#ifndef GUST_COUNTER_HASH_H
#define GUST_COUNTER_HASH_H

#include <stdint.h>

#include "sample_select.h" /* GUST_SC */

static inline GUST_SC uint32_t gust_rotl32(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }

static inline GUST_SC uint32_t gust_murmur_block(uint32_t h, uint32_t k) {
  k *= 0xcc9e2d51u;
  k = gust_rotl32(k, 15);
  k *= 0x1b873593u;
  h ^= k;
  h = gust_rotl32(h, 13);
  return h * 5u + 0xe6546b64u;
}

static inline GUST_SC uint32_t gust_counter_prefix(uint32_t seed_lo, uint32_t seed_hi, uint32_t step) {
  return gust_murmur_block(gust_murmur_block(gust_murmur_block(0, seed_lo), seed_hi), step);
}

/* Finishes the prefix for entry index. Example (counter-hash.ts): seed 42, step 0, index 1 → 0x6ac7e06f. */
static inline GUST_SC uint32_t gust_counter_at(uint32_t prefix, uint32_t index) {
  uint32_t h = gust_murmur_block(prefix, index) ^ 16u;
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

#endif
