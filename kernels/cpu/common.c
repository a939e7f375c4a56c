/* Library identity, errors, threads and memory for the CPU backend. */
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

static _Thread_local char last_error[512];
int gust_has_avx2 = 0;
int gust_has_avx512 = 0;
static int num_threads_in_use = 1;

int32_t gust_fail(int32_t status, const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  vsnprintf(last_error, sizeof last_error, fmt, args);
  va_end(args);
  return status;
}

int32_t gust_abi_version(void) { return GUST_ABI_VERSION; }
const char *gust_backend_name(void) { return "cpu"; }
const char *gust_last_error(void) { return last_error; }
int32_t gust_num_threads(void) { return num_threads_in_use; }
int32_t gust_cpu_features(void) { return (gust_has_avx2 ? 1 : 0) | (gust_has_avx512 ? 2 : 0); }

static int detected_avx2 = 0, detected_avx512 = 0;

int32_t gust_cpu_use_features(int32_t mask) {
  gust_has_avx2 = detected_avx2 && (mask & 1);
  gust_has_avx512 = gust_has_avx2 && detected_avx512 && (mask & 2);
  return GUST_OK;
}

int32_t gust_init(int32_t num_threads) {
  gust_fp8_init();
#if defined(__x86_64__)
  __builtin_cpu_init();
  gust_has_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
  detected_avx2 = gust_has_avx2;
  detected_avx512 = gust_has_avx512 = gust_has_avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
  if (getenv("GUST_CPU_PORTABLE")) gust_has_avx2 = gust_has_avx512 = 0; /* force the portable twin for a whole process */
#endif
  int cores = omp_get_num_procs();
  num_threads_in_use = num_threads > 0 ? num_threads : cores;
  omp_set_num_threads(num_threads_in_use);
  last_error[0] = 0;
  return GUST_OK;
}

int32_t gust_alloc(uint64_t num_bytes, void **out_buffer) {
  GUST_REQUIRE(out_buffer != NULL, "gust_alloc: out_buffer is NULL");
  size_t rounded = (size_t)((num_bytes + 63) / 64 * 64);
  if (rounded == 0) rounded = 64;
  void *p;
#if defined(MADV_HUGEPAGE)
  /* Large buffers (weights) on transparent huge pages where the kernel allows them: streaming a matrix through 4 KiB
   * pages costs a TLB walk every 4 KiB, ~20 % of an FP8 matrix-vector product at 1 thread. */
  const size_t huge_page = (size_t)2 << 20;
  if (rounded >= huge_page) {
    rounded = (rounded + huge_page - 1) / huge_page * huge_page;
    p = aligned_alloc(huge_page, rounded);
    if (p) madvise(p, rounded, MADV_HUGEPAGE);
  } else
#endif
    p = aligned_alloc(64, rounded);
  if (!p) return gust_fail(GUST_ERR_OUT_OF_MEMORY, "gust_alloc: cannot allocate %llu bytes of host memory",
                           (unsigned long long)num_bytes);
  memset(p, 0, rounded);
  *out_buffer = p;
  return GUST_OK;
}

int32_t gust_free(void *buffer) {
  free(buffer);
  return GUST_OK;
}

int32_t gust_upload(void *dst, uint64_t dst_offset, const void *src, uint64_t num_bytes) {
  GUST_REQUIRE(dst && (src || num_bytes == 0), "gust_upload: NULL pointer");
  memcpy((uint8_t *)dst + dst_offset, src, num_bytes);
  return GUST_OK;
}

int32_t gust_download(void *dst, const void *src, uint64_t src_offset, uint64_t num_bytes) {
  GUST_REQUIRE(src && (dst || num_bytes == 0), "gust_download: NULL pointer");
  memcpy(dst, (const uint8_t *)src + src_offset, num_bytes);
  return GUST_OK;
}

int32_t gust_copy(void *dst, uint64_t dst_offset, const void *src, uint64_t src_offset, uint64_t num_bytes) {
  GUST_REQUIRE(dst && src, "gust_copy: NULL pointer");
  memmove((uint8_t *)dst + dst_offset, (const uint8_t *)src + src_offset, num_bytes);
  return GUST_OK;
}

int32_t gust_synchronize(void) { return GUST_OK; }

#if defined(__x86_64__)
#include <immintrin.h>
__attribute__((target("avx2"))) static double read_probe_avx2(const float *words, uint64_t n) {
  double total = 0.0;
#pragma omp parallel reduction(+ : total)
  {
    __m256 a = _mm256_setzero_ps(), b = a, c = a, d = a;
#pragma omp for schedule(static)
    for (uint64_t i = 0; i < n / 32; i++) {
      const float *p = words + i * 32;
      a = _mm256_add_ps(a, _mm256_loadu_ps(p));
      b = _mm256_add_ps(b, _mm256_loadu_ps(p + 8));
      c = _mm256_add_ps(c, _mm256_loadu_ps(p + 16));
      d = _mm256_add_ps(d, _mm256_loadu_ps(p + 24));
    }
    float lanes[8];
    _mm256_storeu_ps(lanes, _mm256_add_ps(_mm256_add_ps(a, b), _mm256_add_ps(c, d)));
    for (int i = 0; i < 8; i++) total += lanes[i];
  }
  for (uint64_t i = n / 32 * 32; i < n; i++) total += words[i];
  return total;
}
#endif

/* MemAvailable / MemTotal of /proc/meminfo (kB), else the sysconf page counts (free pages undercount the cache the
 * kernel would give back, which is why MemAvailable comes first). */
int32_t gust_memory_info(void *out_free_u64, void *out_total_u64) {
  GUST_REQUIRE(out_free_u64 && out_total_u64, "gust_memory_info: NULL pointer");
  uint64_t avail_kb = 0, total_kb = 0;
  FILE *f = fopen("/proc/meminfo", "r");
  if (f) {
    char line[256];
    unsigned long long v;
    while (fgets(line, sizeof line, f)) {
      if (sscanf(line, "MemAvailable: %llu kB", &v) == 1) avail_kb = v;
      else if (sscanf(line, "MemTotal: %llu kB", &v) == 1) total_kb = v;
    }
    fclose(f);
  }
  uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
  uint64_t free_bytes = avail_kb ? avail_kb * 1024 : (uint64_t)sysconf(_SC_AVPHYS_PAGES) * page;
  uint64_t total_bytes = total_kb ? total_kb * 1024 : (uint64_t)sysconf(_SC_PHYS_PAGES) * page;
  memcpy(out_free_u64, &free_bytes, 8);
  memcpy(out_total_u64, &total_bytes, 8);
  return GUST_OK;
}

int32_t gust_read_probe(const void *buffer, uint64_t num_bytes, void *out_checksum_f32) {
  GUST_REQUIRE(buffer && out_checksum_f32, "gust_read_probe: NULL pointer");
  const float *words = (const float *)buffer;
  uint64_t n = num_bytes / 4;
  double total = 0.0;
#if defined(__x86_64__)
  if (gust_has_avx2) total = read_probe_avx2(words, n);
  else
#endif
  {
#pragma omp parallel for reduction(+ : total) schedule(static)
    for (uint64_t i = 0; i < n; i++) total += words[i];
  }
  float result = (float)total;
  memcpy(out_checksum_f32, &result, 4);
  return GUST_OK;
}
