/* Index arithmetic of the FP8 wgmma GEMM (linear_wgmma.cu), host + device so that a CPU test
 * (test/native/wgmma-layout.test.ts) compiles this header with the system C++ compiler and checks every
 * formula: where the loader puts a byte, where wgmma reads it through a descriptor, and which output cell
 * each accumulator register holds. Facts from the PTX ISA (wgmma.mma_async, "Shared memory matrix layout",
 * "Matrix descriptor format"); the code is ours. */
#ifndef GUST_CUDA_WGMMA_LAYOUT_CUH
#define GUST_CUDA_WGMMA_LAYOUT_CUH

#include <stdint.h>

#ifdef __CUDACC__
#define GUST_HD __host__ __device__
#else
#define GUST_HD
#endif

/* A shared-memory tile of `rows` rows × 128 bytes of K (one e4m3 byte per k), K contiguous ("K-major", the
 * only layout wgmma accepts for e4m3), in the 128-byte swizzle: rows come in atoms of 8 rows × 128 B
 * (1024 B, 1024-aligned), and within an atom the 16-byte chunk c of row r sits at chunk c ^ r. The XOR
 * spreads the 8 rows' chunk c over all 32 banks, so neither the cp.async stores nor the tensor core's
 * reads of one column of chunks collide.
 * Worked example: row 10, chunk 3 (k bytes 48..63) → atom 1 (1024), row 2 of it (+256), chunk 3 ^ 2 = 1
 * (+16): byte 1296. */
constexpr uint32_t kGustSw128RowBytes = 128, kGustSw128AtomBytes = 1024;

GUST_HD inline uint32_t gust_sw128_offset(uint32_t row, uint32_t chunk) {
  return (row >> 3) * kGustSw128AtomBytes + (row & 7) * kGustSw128RowBytes + ((chunk ^ (row & 7)) << 4);
}

/* The swizzle as the hardware applies it to an address: bits [4, 7) (the 16-byte chunk) XOR bits [7, 10)
 * (the row within the 1024-byte atom). Valid on offsets from a 1024-aligned base, which is why the tile
 * bases are 1024-aligned and the descriptor's base-offset field stays 0. */
GUST_HD inline uint32_t gust_sw128_apply(uint32_t offset) { return offset ^ (((offset >> 7) & 7) << 4); }

/* wgmma's shared-memory matrix descriptor (64 bits): start address >> 4 in bits [0, 14), leading-dimension
 * byte offset >> 4 in [16, 30), stride-dimension byte offset >> 4 in [32, 46), base offset in [49, 52),
 * swizzle mode in [62, 64) (1 = 128 B, 2 = 64 B, 3 = 32 B, 0 = none). For a K-major swizzled operand whose
 * instruction K (32 bytes) lies inside one 128-byte row, the leading offset is unused (set to 1 by
 * convention) and the stride offset is the distance between 8-row atoms: 1024.
 * Worked example: start 0x400 (1024), lbo 16, sbo 1024, 128 B swizzle → 0x4000004000010040. */
constexpr uint32_t kGustWgmmaSwizzle128 = 1;

GUST_HD inline uint64_t gust_wgmma_desc(uint32_t smem_addr, uint32_t lbo_bytes, uint32_t sbo_bytes,
                                        uint32_t swizzle) {
  return (uint64_t)((smem_addr >> 4) & 0x3FFF) | ((uint64_t)((lbo_bytes >> 4) & 0x3FFF) << 16) |
         ((uint64_t)((sbo_bytes >> 4) & 0x3FFF) << 32) | ((uint64_t)(swizzle & 3) << 62);
}

/* The descriptor of a K-major 128 B-swizzled tile at `tile_addr` (1024-aligned), advanced to the
 * instruction's K slice: k32 step s of the 128-byte row starts 32·s bytes in. The start address moves
 * inside the atom unswizzled; the hardware adds row offsets and then swizzles the whole address, so the
 * slice lands on the chunks the loader wrote (the CPU test checks this for every row and byte). */
GUST_HD inline uint64_t gust_wgmma_desc_k32(uint32_t tile_addr, uint32_t k32_step) {
  return gust_wgmma_desc(tile_addr + 32 * k32_step, 16, kGustSw128AtomBytes, kGustWgmmaSwizzle128);
}

/* Where the tensor core reads element (row, k) of an operand (k < 32 within the instruction) described by
 * `desc` with the 128 B swizzle, as the PTX ISA defines the K-major swizzled layout: start + row atom ·
 * stride offset + (row % 8) · 128 + k, then swizzled. The test's model of the hardware, not used on the GPU. */
GUST_HD inline uint32_t gust_wgmma_read_addr(uint64_t desc, uint32_t row, uint32_t k) {
  const uint32_t start = (uint32_t)(desc & 0x3FFF) << 4, sbo = (uint32_t)((desc >> 32) & 0x3FFF) << 4;
  return gust_sw128_apply(start + (row >> 3) * sbo + (row & 7) * kGustSw128RowBytes + k);
}

/* Accumulator fragment of wgmma .m64nN with f32 results: thread `lane` (0..127 of the warpgroup) holds N/2
 * registers; register i is row 16·warp + lane/4 % 8 + 8·((i / 2) % 2), column 8·(i / 4) + 2·(lane % 4) + i % 2
 * of the 64 × N result, where warp = lane / 32 (the m16n8 layout of mma.sync, repeated over N / 8 columns).
 * Worked example: lane 37 (warp 1, lane 5 of it: group 1, quad 1), register 6 → row 16 + 1 + 8 = 25,
 * column 8 + 2 + 0 = 10. */
GUST_HD inline uint32_t gust_wgmma_acc_row(uint32_t lane, uint32_t i) {
  return 16 * (lane >> 5) + ((lane & 31) >> 2) + 8 * ((i >> 1) & 1);
}
GUST_HD inline uint32_t gust_wgmma_acc_col(uint32_t lane, uint32_t i) { return 8 * (i >> 2) + 2 * (lane & 3) + (i & 1); }

#endif
