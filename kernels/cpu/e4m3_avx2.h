/* Eight e4m3 weights as f32 on AVX2 without F16C, for the row dots of linear.c. (The GEMM's weight packing keeps
 * the F16C expansion: with this one its 16–32-token calls ran 10–15 % slower, likely the f32 subnormals of e = 0
 * codes in its FMA loop; notes 2026-12-06-issue-32.md, session 20.) The f32 bits s 0000eeee mmm0…0 are value(b) · 2^-120 (exponent bias 127 vs 7; e = 0 lands on f32
 * subnormals, exact too): sign-extend, shift, and. The callers quantise activations × 2^112, so each product is
 * value(w) · value(x) · 2^-8, the same as the F16C path's (value(w) · 2^-8) · value(x), and the sums are
 * bit-identical. The subnormals must reach the FMA as they are: callers check gust_denormals_flushed() and take
 * the portable loop when they are flushed.
 * Example: b = 0xB9 (s 1, e 0111, m 001: -1.125) sign-extends to 0xFFFFFFB9, << 20 → 0xFB900000,
 * & 0x87FFFFFF → 0x83900000 = -1.125 · 2^-120. */
#ifndef GUST_E4M3_AVX2_H
#define GUST_E4M3_AVX2_H
#include <immintrin.h>
#include <stdint.h>

#define GUST_E4M3_BITS_X_FACTOR 0x1p112f /* activations' factor for the expansion below */

__attribute__((target("avx2"))) static inline __m256 gust_load8_e4m3_bits(const uint8_t *w, int64_t i) {
  __m256i v = _mm256_slli_epi32(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(w + i))), 20);
  return _mm256_castsi256_ps(_mm256_and_si256(v, _mm256_set1_epi32((int)0x87FFFFFF)));
}

/* Eight floats rounded to their e4m3 values (as f32): the value of gust_e4m3_encode(v) for every non-NaN v, NaN for
 * NaN. Normals keep 3 mantissa bits, the dropped 20 rounded to nearest even by integer add (the encoder's rule);
 * below 2^-6 the quantum is 2^-9, and adding then subtracting 2^14 (whose f32 ulp is 2^-9) rounds to it, ties to
 * even. Anything above 448 (the rounding's 480, or inf, which the largest floats round to) becomes 448.
 * Example: 0.3 = 0x3E99999A → + 0x7FFFF + bit 20 (1) → 0x3EA1999A, & 0xFFF00000 → 0x3EA00000 = 0.3125. */
__attribute__((target("avx2"))) static inline __m256 gust_e4m3_round8(__m256 v) {
  const __m256 sign_bit = _mm256_set1_ps(-0.0f);
  __m256 magnitude = _mm256_andnot_ps(sign_bit, v);
  __m256i bits = _mm256_castps_si256(magnitude);
  __m256i odd = _mm256_and_si256(_mm256_srli_epi32(bits, 20), _mm256_set1_epi32(1));
  bits = _mm256_add_epi32(bits, _mm256_add_epi32(odd, _mm256_set1_epi32(0x7FFFF)));
  __m256 normal = _mm256_castsi256_ps(_mm256_and_si256(bits, _mm256_set1_epi32((int)0xFFF00000u)));
  normal = _mm256_min_ps(normal, _mm256_set1_ps(448.0f));
  const __m256 magic = _mm256_set1_ps(16384.0f);
  __m256 tiny = _mm256_sub_ps(_mm256_add_ps(magnitude, magic), magic);
  __m256 rounded = _mm256_blendv_ps(normal, tiny, _mm256_cmp_ps(magnitude, _mm256_set1_ps(0.015625f), _CMP_LT_OQ));
  rounded = _mm256_or_ps(rounded, _mm256_and_ps(sign_bit, v));
  return _mm256_blendv_ps(rounded, v, _mm256_cmp_ps(v, v, _CMP_UNORD_Q)); /* NaN stays NaN */
}

/* Whether this thread's MXCSR flushes subnormals (DAZ, bit 6, on inputs; FTZ, bit 15, on results such as the
 * scalar tails' value · 2^-120): then the expansion above is wrong. */
static inline int gust_denormals_flushed(void) { return (_mm_getcsr() & 0x8040) != 0; }
#endif
