/* Host check of kernels/cuda/wgmma_layout.cuh, the index arithmetic of the FP8 wgmma GEMM (linear_wgmma.cu):
 * one pipeline stage emulated on the CPU. The loader's formula places a 128-row W tile and a 128-row xq tile in a
 * byte array standing in for shared memory; a model of the tensor core reads them back through the kernel's
 * descriptors (the PTX ISA's K-major 128 B-swizzle rule) and multiplies; the accumulator map scatters the results
 * to (W row, token). The output must equal a plain matrix product exactly (integer-valued bytes). A deliberately
 * wrong descriptor step must not. test/native/wgmma-layout.test.ts runs this and reads its lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wgmma_layout.cuh"

static const uint32_t kRows = 128, kK = 128, kTile = kRows * kK, kBase = 0x2400; /* a 1024-aligned smem address */
static uint8_t smem[kBase + 2 * kTile];
static uint8_t w[kRows][kK], x[kRows][kK];

static int value(uint8_t b) { return (int8_t)b; } /* any exact stand-in for e4m3 values will do */

/* The kernel's loader: chunk q → row q / 8, chunk q % 8 (16 bytes of K) at gust_sw128_offset(row, chunk). */
static void load_tile(uint32_t at, uint8_t (*src)[kK]) {
  for (uint32_t q = 0; q < kRows * kK / 16; q++) {
    const uint32_t row = q >> 3, chunk = q & 7;
    memcpy(smem + at + gust_sw128_offset(row, chunk), &src[row][chunk * 16], 16);
  }
}

/* Two warpgroups × four k32 wgmmas of m64n128, scattered through the accumulator map; returns mismatches against
 * the plain product. Mutants that must fail: 1 forgets to advance the descriptor along K, 2 gives the 8-row atoms
 * a 128-byte stride (rows packed without atoms). */
static long run_stage(int mutant) {
  static long y[kRows][kRows];
  memset(y, 0, sizeof(y));
  const uint32_t a_at = kBase, b_at = kBase + kTile;
  for (uint32_t group = 0; group < 2; group++) {
    long d[128][64] = {}; /* [lane][register] */
    for (uint32_t s = 0; s < kK / 32; s++) {
      const uint32_t a_tile = a_at + group * 64 * kK;
      uint64_t da = gust_wgmma_desc_k32(a_tile, s), db = gust_wgmma_desc_k32(b_at, s);
      if (mutant == 1) da = gust_wgmma_desc_k32(a_tile, 0), db = gust_wgmma_desc_k32(b_at, 0);
      if (mutant == 2) {
        da = gust_wgmma_desc(a_tile + 32 * s, 16, 128, kGustWgmmaSwizzle128);
        db = gust_wgmma_desc(b_at + 32 * s, 16, 128, kGustWgmmaSwizzle128);
      }
      for (uint32_t lane = 0; lane < 128; lane++)
        for (uint32_t i = 0; i < 64; i++) {
          const uint32_t m = gust_wgmma_acc_row(lane, i), n = gust_wgmma_acc_col(lane, i);
          long sum = 0;
          for (uint32_t k = 0; k < 32; k++)
            sum += (long)value(smem[gust_wgmma_read_addr(da, m, k)]) * value(smem[gust_wgmma_read_addr(db, n, k)]);
          d[lane][i] += sum;
        }
    }
    for (uint32_t lane = 0; lane < 128; lane++)
      for (uint32_t i = 0; i < 64; i++)
        y[64 * group + gust_wgmma_acc_row(lane, i)][gust_wgmma_acc_col(lane, i)] += d[lane][i];
  }
  long bad = 0;
  for (uint32_t r = 0; r < kRows; r++)
    for (uint32_t t = 0; t < kRows; t++) {
      long want = 0;
      for (uint32_t k = 0; k < kK; k++) want += (long)value(w[r][k]) * value(x[t][k]);
      if (y[r][t] != want) bad++;
    }
  return bad;
}

int main(void) {
  uint32_t s = 12345;
  for (uint32_t r = 0; r < kRows; r++)
    for (uint32_t k = 0; k < kK; k++) {
      s = s * 1664525u + 1013904223u;
      w[r][k] = (uint8_t)(s >> 24);
      s = s * 1664525u + 1013904223u;
      x[r][k] = (uint8_t)(s >> 24);
    }
  load_tile(kBase, w);
  load_tile(kBase + kTile, x);

  /* the accumulator map covers the 64 × 128 result once */
  static int hits[64][128];
  for (uint32_t lane = 0; lane < 128; lane++)
    for (uint32_t i = 0; i < 64; i++) hits[gust_wgmma_acc_row(lane, i)][gust_wgmma_acc_col(lane, i)]++;
  long once = 0;
  for (uint32_t r = 0; r < 64; r++)
    for (uint32_t c = 0; c < 128; c++) once += hits[r][c] == 1;
  printf("acc cells covered once %ld\n", once);

  /* the loader fills every byte of both tiles once, and each column of chunks of an 8-row atom spans all banks */
  static int written[2 * kTile];
  for (uint32_t row = 0; row < 2 * kRows; row++)
    for (uint32_t chunk = 0; chunk < 8; chunk++)
      for (uint32_t b = 0; b < 16; b++) written[gust_sw128_offset(row, chunk) + b]++;
  long filled = 0;
  for (uint32_t i = 0; i < 2 * kTile; i++) filled += written[i] == 1;
  printf("tile bytes written once %ld\n", filled);
  long spread = 0;
  for (uint32_t atom = 0; atom < kRows / 8; atom++)
    for (uint32_t chunk = 0; chunk < 8; chunk++) {
      uint32_t banks = 0;
      for (uint32_t r = 0; r < 8; r++) banks |= 1u << ((gust_sw128_offset(8 * atom + r, chunk) & 127) >> 4);
      spread += banks == 0xFF;
    }
  printf("chunk columns over all banks %ld\n", spread);

  printf("stage mismatches %ld\n", run_stage(0));
  printf("mutant no-k-step mismatches %ld\n", run_stage(1));
  printf("mutant packed-rows mismatches %ld\n", run_stage(2));

  printf("example sw128 row 10 chunk 3 %u\n", gust_sw128_offset(10, 3));
  printf("example desc 0x%016llx\n", (unsigned long long)gust_wgmma_desc(1024, 16, 1024, kGustWgmmaSwizzle128));
  printf("example acc lane 37 reg 6 row %u col %u\n", gust_wgmma_acc_row(37, 6), gust_wgmma_acc_col(37, 6));
  return 0;
}
