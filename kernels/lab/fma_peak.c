/* The machine's f32 FMA peak for the benchmarks (not linked into the library): every thread runs 12
 * independent 8-wide FMA chains (enough to cover latency × throughput on current x86 cores) for a fixed
 * count, and the best of several runs is printed as GFLOP/s (an FMA counts 2): per wall-clock second, then per
 * second of process CPU time (on a shared machine the second is the kernel's own rate, the first also counts the
 * time other processes held the cores). Built and run by bench/lab/long-prefill.ts:
 * cc -O3 -mavx2 -mfma -fopenmp fma_peak.c; ./a.out THREADS → "WALL_GFLOPS CPU_GFLOPS SINK" (at -O2 without the
 * unroll pragma GCC kept acc[] in memory: a third of the peak). */
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define CHAINS 12
#define ROUNDS 20000000L

static float run_chains(float seed) {
  __m256 acc[CHAINS];
  for (int i = 0; i < CHAINS; i++) acc[i] = _mm256_set1_ps(seed + (float)i);
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (long r = 0; r < ROUNDS; r++)
#pragma GCC unroll 12
    for (int i = 0; i < CHAINS; i++) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  float out[8], total = 0.0f;
  for (int i = 0; i < CHAINS; i++) {
    _mm256_storeu_ps(out, acc[i]);
    total += out[0];
  }
  return total;
}

static double cpu_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  double best = 0.0, best_cpu = 0.0, sink = 0.0;
  for (int trial = 0; trial < 5; trial++) {
    double start = omp_get_wtime(), start_cpu = cpu_seconds();
#pragma omp parallel num_threads(threads) reduction(+ : sink)
    sink += run_chains((float)omp_get_thread_num());
    double flops = 2.0 * 8 * CHAINS * (double)ROUNDS * threads, rate = flops / (omp_get_wtime() - start) / 1e9;
    double cpu_rate = flops / (cpu_seconds() - start_cpu) / 1e9;
    if (rate > best) best = rate;
    if (cpu_rate > best_cpu) best_cpu = cpu_rate;
  }
  printf("%.1f %.1f %g\n", best, best_cpu, sink);
  return 0;
}
