/* The machine's single-thread memory read rate: the floor under every batch-1 decode on the CPU, which reads each
 * weight once per token. Streams a buffer far larger than the caches with AVX2 loads, one and several streams at
 * once, and prints the best GB/s of a few passes (printed, never asserted):
 *   cc -O2 -mavx2 kernels/lab/read_floor.c -o /tmp/read_floor && /tmp/read_floor [MiB]
 * bench/lab/llama-peer.ts runs it beside its table (bench/lab/read-floor.ts). */
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Sums `bytes` from `streams` equal parts read side by side; returns seconds. */
static double pass(const uint8_t *buffer, size_t bytes, int streams, __m256i *sink) {
  size_t part = bytes / (size_t)streams / 128 * 128;
  __m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;
  double start = now();
  for (size_t i = 0; i < part; i += 128)
    for (int s = 0; s < streams; s++) {
      const __m256i *p = (const __m256i *)(buffer + (size_t)s * part + i);
      a = _mm256_xor_si256(a, _mm256_load_si256(p));
      b = _mm256_xor_si256(b, _mm256_load_si256(p + 1));
      c = _mm256_xor_si256(c, _mm256_load_si256(p + 2));
      d = _mm256_xor_si256(d, _mm256_load_si256(p + 3));
    }
  double seconds = now() - start;
  *sink = _mm256_xor_si256(*sink, _mm256_xor_si256(_mm256_xor_si256(a, b), _mm256_xor_si256(c, d)));
  return seconds;
}

int main(int argc, char **argv) {
  size_t bytes = (size_t)(argc > 1 ? atoi(argv[1]) : 512) << 20;
  uint8_t *buffer = aligned_alloc(64, bytes);
  if (!buffer) return 1;
  memset(buffer, 1, bytes);
  __m256i sink = _mm256_setzero_si256();
  double best = 0;
  const int stream_counts[] = {1, 2, 4, 8};
  for (int round = 0; round < 3; round++)
    for (int i = 0; i < 4; i++) {
      double rate = (double)bytes / pass(buffer, bytes, stream_counts[i], &sink) / 1e9;
      if (rate > best) best = rate;
    }
  printf("%.2f\n", best + 0 * (double)_mm256_extract_epi32(sink, 0));
  return 0;
}
