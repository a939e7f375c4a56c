/* Index arithmetic of the tensor-core prefill kernel (attention_flash.cu), as plain functions that compile
 * for the device and for the host, so test/native/attention-flash-map.test.ts can check them with the system
 * C++ compiler on a machine without a GPU. No CUDA headers here.
 *
 * mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 (PTX ISA, "Matrix Fragments for mma.m16n8k16"): a warp
 * computes D[16×8] = A[16×16] · B[16×8] + C. Lane l is split into group = l / 4 and quad = l % 4.
 *  - A: 4 registers of two bf16 each; register r, half h holds A[group + 8·(r % 2)][2·quad + 8·(r / 2) + h].
 *    Example: lane 5 (group 1, quad 1), r 3, h 1 → A[9][11].
 *  - B: 2 registers; register r, half h holds B[k = 2·quad + 8·r + h][n = group].
 *    Example: lane 30 (group 7, quad 2), r 1, h 0 → B[12][7].
 *  - C/D: 4 f32 registers; register r holds C[group + 8·(r / 2)][2·quad + r % 2].
 *    Example: lane 13 (group 3, quad 1), r 2 → C[11][2].
 * The kernel reuses score accumulators as the next mma's A operand: the C registers of two adjacent n8
 * tiles (keys 0–7 and 8–15) are exactly the A registers of one 16×16 P tile, pairs (c0, c1) → a0, (c2, c3)
 * → a1 of the first tile and → a2, a3 of the second (flash_p_from_scores checks it holds for every lane). */
#ifndef GUST_CUDA_ATTENTION_FLASH_MAP_H
#define GUST_CUDA_ATTENTION_FLASH_MAP_H

#include <stdint.h>

#ifdef __CUDACC__
#define GUST_HD __host__ __device__ constexpr inline
#else
#define GUST_HD static constexpr inline
#endif

struct FlashRC {
  int32_t row, col;
};

GUST_HD FlashRC flash_mma_a(int lane, int r, int h) {
  return FlashRC{lane / 4 + 8 * (r % 2), 2 * (lane % 4) + 8 * (r / 2) + h};
}
GUST_HD FlashRC flash_mma_b(int lane, int r, int h) { /* (k, n) */
  return FlashRC{2 * (lane % 4) + 8 * r + h, lane / 4};
}
GUST_HD FlashRC flash_mma_c(int lane, int r) { return FlashRC{lane / 4 + 8 * (r / 2), 2 * (lane % 4) + r % 2}; }

/* Which score accumulator feeds A register r, half h of the P·V mma: tile (0 or 1 of the 16-key slice) and
 * register within it. Example: r 2, h 1 → tile 1, register 1 (row group, key 8 + 2·quad + 1). */
GUST_HD FlashRC flash_p_from_scores(int r, int h) { /* (tile, register) */
  return FlashRC{r / 2, 2 * (r % 2) + h};
}

/* Flattened queries of a tile: f = row_in_seq · G + head_in_group (attention.cuh's prefill tiles, from the
 * planning kernel). Example, G 12, f0 64, m 20: f 84 → row 7, head 0. */
GUST_HD FlashRC flash_query(int32_t f0, int32_t m, int32_t group) {
  const int32_t f = f0 + m;
  return FlashRC{f / group, f % group};
}

/* Keys visible to row j of a sequence with n rows this step and kv_len keys in all (the chunk's own rows
 * are its last n keys): causal, so row j sees keys 0 ..= kv_len − n + j. Rows past the end see none.
 * Example: 700 cached + 300 new (kv_len 1000, n 300): row 0 sees 701 keys, row 299 sees 1000. */
GUST_HD int32_t flash_visible(int32_t kv_len, int32_t n, int32_t j) { return j < n ? kv_len - n + j + 1 : 0; }

/* Keys a tile must stream: those its last real query row sees. Example, G 12, n 10, f0 64: the tile's last
 * query is f 119 (row 9, the sequence's last) → kv_len keys; with f0 0 the last is f 63 (row 5). */
GUST_HD int32_t flash_key_end(int32_t f0, int32_t tile_queries, int32_t group, int32_t n, int32_t kv_len) {
  int32_t last_f = f0 + tile_queries;
  if (last_f > n * group) last_f = n * group;
  return flash_visible(kv_len, n, (last_f - 1) / group);
}

/* Element offset of key p's row for KV head g in the paged cache [num_blocks, block_size, KV, D], given its
 * physical block id (looked up in the block table at p / block_size by the caller). Example: block_size 16,
 * id 7, p 37 → slot 7·16 + 5 = 117; kv_row 1024, D 128, g 2 → 117·1024 + 256 = 120064. */
GUST_HD int64_t flash_kv_offset(int32_t id, int32_t p, int32_t block_size, int32_t kv_row, int32_t g, int32_t d) {
  return ((int64_t)id * block_size + p % block_size) * kv_row + (int64_t)g * d;
}

/* Shared-memory K/V tile: kKeys rows of DP bf16 plus 8 of padding, so 16-byte chunks of consecutive rows
 * start 16 bytes apart in the bank cycle and a warp's 32-bit fragment loads (8 rows × 4 quads) hit 32
 * distinct banks. Example, DP 128: row stride 136 bf16 = 272 B = 68 words; rows 0..7 at word 0, 68, …, 476
 * → banks 0, 4, 8, …, 28, plus quad 0..3 → all 32 banks. */
GUST_HD int32_t flash_smem_stride(int32_t dp) { return dp + 8; }

/* Shared-memory element offsets of the B fragments, from the maps above and the [key][SS] tiles.
 * S = Q·Kᵀ: B[k = d][n = key] = K[key][d]; register r of n8 tile nt, k-slice kk (the pair at h 0, 1 is
 * contiguous). Example: SS 136, lane 9 (group 2, quad 1), nt 3, kk 1, r 1 → key 26, d 26 → 26·136 + 26.
 * O = P·V: B[k = key][n = d] = V[key][d]; register r, half h of 16-key slice kk and n8 tile nd. Example:
 * SS 136, lane 9, kk 2, nd 5, r 0, h 1 → key 35, d 42 → 35·136 + 42. */
GUST_HD int32_t flash_k_frag(int lane, int nt, int kk, int r, int32_t ss) {
  return (8 * nt + flash_mma_b(lane, r, 0).col) * ss + 16 * kk + flash_mma_b(lane, r, 0).row;
}
GUST_HD int32_t flash_v_frag(int lane, int kk, int nd, int r, int h, int32_t ss) {
  return (16 * kk + flash_mma_b(lane, r, h).row) * ss + 8 * nd + flash_mma_b(lane, r, h).col;
}

#endif
