/* Runs kernels/e4m3.h's integer e4m3 → f16 conversion (the sm_80 path of the CUDA linears) on the host
 * for every code, and prints the f16 bits for test/native/e4m3-sm80.test.ts to check. Each line:
 * "code low high": low = the half of code c in the low byte, high = the half of code 255 - c in byte 1
 * (bytes 2 and 3 carry junk the conversion must ignore). Then a few __byte_perm selector examples. */
#include <stdio.h>

#include "e4m3.h"

int main(void) {
  for (uint32_t c = 0; c < 256; c++) {
    const uint32_t h = gust_e4m3x2_to_f16x2_scaled(c | ((255u - c) << 8) | 0xA5C30000u);
    printf("%u %u %u\n", c, h & 0xFFFFu, h >> 16);
  }
  const uint32_t x = 0x33221100u, y = 0x77665544u;
  printf("perm %08x %08x %08x %08x\n", gust_byte_perm(x, y, 0x3210u), gust_byte_perm(x, y, 0x7654u),
         gust_byte_perm(x, y, 0x0123u), gust_byte_perm(x, y, 0x9C1Fu));
  return 0;
}
