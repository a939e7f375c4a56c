/* gust_linear's rate per matrix from built libraries (not linked into the library): FP8 and bf16 weights of one
 * shape (default 7,168 × 2,048, the synthetic model's gate/up), 1 thread, token counts 1 … 512; the best of several
 * runs in milliseconds of process CPU time and GFLOP/s (a multiply-add counts 2). Several libraries run
 * interleaved, so a before/after pair shares the machine's moment:
 *   cc -O2 kernels/lab/linear_rates.c -o /tmp/linear_rates -ldl
 *   /tmp/linear_rates OLD/libgust_cpu.so kernels/build/libgust_cpu.so [N K]
 * Printed, never asserted. */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef int32_t (*linear_fn)(void *, const void *, const void *, int32_t, int32_t, int32_t, int32_t, float, float);
typedef int32_t (*init_fn)(int32_t);

static double cpu_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv) {
  int libs = 0;
  const char *paths[8];
  int N = 7168, K = 2048;
  for (int a = 1; a < argc; a++) {
    if (argv[a][0] >= '0' && argv[a][0] <= '9' && a + 1 < argc) {
      N = atoi(argv[a]), K = atoi(argv[a + 1]);
      break;
    }
    if (libs < 8) paths[libs++] = argv[a];
  }
  if (libs == 0) {
    fprintf(stderr, "usage: linear_rates LIB.so [LIB2.so …] [N K]\n");
    return 2;
  }
  enum { MAX_T = 512 };
  uint8_t *w = malloc((size_t)N * K * 2);
  float *x = malloc(sizeof(float) * MAX_T * K), *y = malloc(sizeof(float) * MAX_T * N);
  if (!w || !x || !y) return 1;
  srand(1);
  /* e4m3 codes without NaN (bit 6 clear: |v| < 2); as bf16 pairs the same bytes are finite too */
  for (size_t i = 0; i < (size_t)N * K * 2; i++) w[i] = (uint8_t)(rand() & 0xbf);
  for (int i = 0; i < MAX_T * K; i++) x[i] = (float)(i % 13 - 6) * 0.01f;
  linear_fn linear[8];
  for (int l = 0; l < libs; l++) {
    void *h = dlopen(paths[l], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      fprintf(stderr, "%s\n", dlerror());
      return 1;
    }
    linear[l] = (linear_fn)dlsym(h, "gust_linear");
    ((init_fn)dlsym(h, "gust_init"))(1);
  }
  const int tokens[] = {1, 2, 4, 8, 9, 10, 11, 12, 16, 32, 64, 512};
  const int dtypes[] = {3, 2}; /* GUST_DTYPE_F8_E4M3, GUST_DTYPE_BF16 */
  printf("N %d, K %d, 1 thread, best of runs (CPU ms per call, GFLOP/s)\n", N, K);
  for (int d = 0; d < 2; d++) {
    for (int i = 0; i < (int)(sizeof tokens / sizeof tokens[0]); i++) {
      int T = tokens[i];
      printf("%s T %3d:", d == 0 ? "fp8 " : "bf16", T);
      for (int l = 0; l < libs; l++) {
        double best = 1e9;
        for (int r = 0; r < (T > 64 ? 3 : 9); r++) {
          double start = cpu_seconds();
          linear[l](y, x, w, dtypes[d], T, N, K, 0.02f, 0.03f);
          double t = cpu_seconds() - start;
          if (t < best) best = t;
        }
        printf("  [%d] %8.3f ms %6.1f", l, best * 1e3, 2.0 * N * K * T / best / 1e9);
      }
      printf("\n");
    }
  }
  return 0;
}
