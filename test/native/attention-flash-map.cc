// Host check of kernels/cuda/attention_flash_map.cuh (run by attention-flash-map.test.ts): the mma fragment
// maps against the PTX ISA's formulas and worked examples, and a lane-by-lane emulation of one
// attention_flash.cu block per (tile, KV head) (tile walk over a shuffled block table, causal bounds of a
// chunk after cached keys, online softmax with quad reductions, P reused from the score registers) compared
// with a plain double-precision attention. Mode "exact" keeps f32 inputs (index errors show as O(1)
// differences); mode "bf16" rounds Q, K, V and P like the kernel and prints the NMSE it costs.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vector>

#include "bf16.h"
#include "cuda/attention_flash_map.cuh"

static int failures = 0;
#define CHECK(cond, ...)            \
  do {                              \
    if (!(cond)) {                  \
      printf("FAIL: " __VA_ARGS__); \
      printf("\n");                 \
      failures++;                   \
    }                               \
  } while (0)

static void check_maps() {
  int a_seen[16][16] = {}, b_seen[16][8] = {}, c_seen[16][8] = {};
  for (int lane = 0; lane < 32; lane++) {
    for (int r = 0; r < 4; r++)
      for (int h = 0; h < 2; h++) {
        const FlashRC a = flash_mma_a(lane, r, h);
        a_seen[a.row][a.col]++;
        // PTX ISA: row = groupID (+8 for a1, a3); col = threadID_in_group·2 + h (+8 for a2, a3)
        CHECK(a.row == lane / 4 + ((r == 1 || r == 3) ? 8 : 0), "A row lane %d r %d", lane, r);
        CHECK(a.col == (lane % 4) * 2 + h + (r >= 2 ? 8 : 0), "A col lane %d r %d h %d", lane, r, h);
        // the P operand comes from the score accumulators of tiles 0, 1: same row, key = tile·8 + C col
        const FlashRC src = flash_p_from_scores(r, h);
        const FlashRC c = flash_mma_c(lane, src.col);
        CHECK(c.row == a.row && 8 * src.row + c.col == a.col, "P from scores lane %d r %d h %d", lane, r, h);
      }
    for (int r = 0; r < 2; r++)
      for (int h = 0; h < 2; h++) {
        const FlashRC b = flash_mma_b(lane, r, h);
        b_seen[b.row][b.col]++;
        CHECK(b.row == (lane % 4) * 2 + h + 8 * r && b.col == lane / 4, "B lane %d r %d h %d", lane, r, h);
      }
    for (int r = 0; r < 4; r++) {
      const FlashRC c = flash_mma_c(lane, r);
      c_seen[c.row][c.col]++;
      CHECK(c.row == lane / 4 + (r >= 2 ? 8 : 0) && c.col == (lane % 4) * 2 + (r & 1), "C lane %d r %d", lane, r);
    }
  }
  for (int i = 0; i < 16; i++)
    for (int j = 0; j < 16; j++) CHECK(a_seen[i][j] == 1, "A[%d][%d] held %d times", i, j, a_seen[i][j]);
  for (int i = 0; i < 16; i++)
    for (int j = 0; j < 8; j++) {
      CHECK(b_seen[i][j] == 1, "B[%d][%d] held %d times", i, j, b_seen[i][j]);
      CHECK(c_seen[i][j] == 1, "C[%d][%d] held %d times", i, j, c_seen[i][j]);
    }
  // the header's worked examples
  CHECK(flash_mma_a(5, 3, 1).row == 9 && flash_mma_a(5, 3, 1).col == 11, "example A");
  CHECK(flash_mma_b(30, 1, 0).row == 12 && flash_mma_b(30, 1, 0).col == 7, "example B");
  CHECK(flash_mma_c(13, 2).row == 11 && flash_mma_c(13, 2).col == 2, "example C");
  CHECK(flash_p_from_scores(2, 1).row == 1 && flash_p_from_scores(2, 1).col == 1, "example P");
  CHECK(flash_query(64, 20, 12).row == 7 && flash_query(64, 20, 12).col == 0, "example query");
  CHECK(flash_visible(1000, 300, 0) == 701 && flash_visible(1000, 300, 299) == 1000, "example visible");
  CHECK(flash_visible(1000, 300, 300) == 0, "padding rows see nothing");
  CHECK(flash_key_end(64, 64, 12, 10, 50) == 50 && flash_key_end(0, 64, 12, 10, 50) == 46, "example key end");
  CHECK(flash_kv_offset(7, 37, 16, 1024, 2, 128) == 120064, "example kv offset");
  CHECK(flash_k_frag(9, 3, 1, 1, 136) == 26 * 136 + 26, "example K fragment");
  CHECK(flash_v_frag(9, 2, 5, 0, 1, 136) == 35 * 136 + 42, "example V fragment");
  // bank spread of the K fragment loads: 32 lanes, 32-bit words, 32 distinct banks for DP 64 and 128
  for (int dp = 64; dp <= 128; dp += 64) {
    int banks[32] = {};
    for (int lane = 0; lane < 32; lane++) banks[(flash_k_frag(lane, 0, 0, 0, flash_smem_stride(dp)) / 2) % 32]++;
    for (int i = 0; i < 32; i++) CHECK(banks[i] == 1, "DP %d: bank %d loaded %d times", dp, i, banks[i]);
  }
}

struct Problem {
  int H, KV, D, bs, cached, n;
};

static float rnd(unsigned &state) {
  state = state * 1664525u + 1013904223u;
  return (float)((state >> 8) & 0xFFFF) / 32768.0f - 1.0f;
}
static float bf(float x, bool round) {
  if (!round) return x;
  const uint32_t bits = (uint32_t)gust_bf16_encode(x) << 16;
  float y;
  memcpy(&y, &bits, 4);
  return y;
}

// One 16×8 += 16×16 · 16×8 mma from per-lane registers, through the maps (the instruction's semantics).
static void mma(float c[32][4], const float a[32][4][2], const float b[32][2][2]) {
  float A[16][16], B[16][8];
  for (int l = 0; l < 32; l++) {
    for (int r = 0; r < 4; r++)
      for (int h = 0; h < 2; h++) A[flash_mma_a(l, r, h).row][flash_mma_a(l, r, h).col] = a[l][r][h];
    for (int r = 0; r < 2; r++)
      for (int h = 0; h < 2; h++) B[flash_mma_b(l, r, h).row][flash_mma_b(l, r, h).col] = b[l][r][h];
  }
  for (int l = 0; l < 32; l++)
    for (int r = 0; r < 4; r++) {
      const FlashRC rc = flash_mma_c(l, r);
      for (int k = 0; k < 16; k++) c[l][r] += A[rc.row][k] * B[k][rc.col];
    }
}

// Runs the kernel's walk for every (tile, KV head); returns the NMSE against double-precision attention
// and the largest absolute difference in max_abs.
static double emulate(const Problem &p, bool round, unsigned seed, double &max_abs) {
  const int G = p.H / p.KV, kv_len = p.cached + p.n, DP = p.D <= 64 ? 64 : 128, SS = flash_smem_stride(DP);
  const int kKeys = 64, kTile = 64, kv_row = p.KV * p.D, blocks = (kv_len + p.bs - 1) / p.bs + 3;
  unsigned st = seed;
  std::vector<int> table(blocks);
  for (int i = 0; i < blocks; i++) table[i] = i;
  for (int i = blocks - 1; i > 0; i--) std::swap(table[i], table[(st = st * 1103515245u + 12345u) % (i + 1)]);
  std::vector<float> kc((size_t)blocks * p.bs * kv_row), vc(kc.size()), q((size_t)p.n * p.H * p.D);
  for (auto &x : kc) x = rnd(st);
  for (auto &x : vc) x = rnd(st);
  for (auto &x : q) x = 2 * rnd(st);
  const float scale = 1.0f / sqrtf((float)p.D), scale_log2 = scale * 1.4426950408889634f;
  std::vector<float> out(q.size(), NAN);
  std::vector<float> ks(kKeys * SS), vs(kKeys * SS);
  for (int f0 = 0; f0 < p.n * G; f0 += kTile)
    for (int g = 0; g < p.KV; g++) {
      const int key_end = flash_key_end(f0, kTile, G, p.n, kv_len);
      for (int warp = 0; warp < 4; warp++) {
        float qa[32][8][4][2], o[32][16][4] = {}, m_run[32][2], l_run[32][2] = {};
        int visible[32][2];
        long q_at[32][2];
        for (int l = 0; l < 32; l++)
          for (int half = 0; half < 2; half++) {
            const FlashRC jh = flash_query(f0, 16 * warp + l / 4 + 8 * half, G);
            visible[l][half] = flash_visible(kv_len, p.n, jh.row);
            q_at[l][half] = jh.row < p.n ? ((long)jh.row * p.H + g * G + jh.col) * p.D : -1;
            m_run[l][half] = -INFINITY;
          }
        for (int l = 0; l < 32; l++)
          for (int kk = 0; kk < DP / 16; kk++)
            for (int r = 0; r < 4; r++)
              for (int h = 0; h < 2; h++) {
                const FlashRC rc = flash_mma_a(l, r, h);
                const long at = q_at[l][rc.row / 8];
                const int d = 16 * kk + rc.col;
                qa[l][kk][r][h] = bf(at >= 0 && d < p.D ? q[at + d] : 0.0f, round);
              }
        for (int k0 = 0; k0 < key_end; k0 += kKeys) {
          for (int key = 0; key < kKeys; key++)
            for (int d = 0; d < DP; d++) {
              const int pos = k0 + key;
              const long off = pos < key_end ? flash_kv_offset(table[pos / p.bs], pos, p.bs, kv_row, g, p.D) : -1;
              ks[key * SS + d] = bf(off >= 0 && d < p.D ? kc[off + d] : 0.0f, round);
              vs[key * SS + d] = bf(off >= 0 && d < p.D ? vc[off + d] : 0.0f, round);
            }
          float sc[8][32][4] = {};
          for (int nt = 0; nt < 8; nt++)
            for (int kk = 0; kk < DP / 16; kk++) {
              float b[32][2][2];
              for (int l = 0; l < 32; l++)
                for (int r = 0; r < 2; r++)
                  for (int h = 0; h < 2; h++) b[l][r][h] = ks[flash_k_frag(l, nt, kk, r, SS) + h];
              float a[32][4][2];
              for (int l = 0; l < 32; l++) memcpy(a[l], qa[l][kk], sizeof a[l]);
              mma(sc[nt], a, b);
            }
          for (int half = 0; half < 2; half++)
            for (int grp = 0; grp < 8; grp++) {  // a row lives in the 4 lanes of one quad
              float mx = -INFINITY;
              for (int l = 4 * grp; l < 4 * grp + 4; l++)
                for (int nt = 0; nt < 8; nt++)
                  for (int e = 0; e < 2; e++) {
                    float &x = sc[nt][l][2 * half + e];
                    x = k0 + 8 * nt + flash_mma_c(l, 2 * half + e).col < visible[l][half] ? x * scale_log2 : -INFINITY;
                    mx = fmaxf(mx, x);
                  }
              for (int l = 4 * grp; l < 4 * grp + 4; l++) {
                const float m_new = fmaxf(m_run[l][half], mx), ref = m_new == -INFINITY ? 0.0f : m_new;
                const float alpha = exp2f(m_run[l][half] - ref);
                float sum = 0;
                for (int nt = 0; nt < 8; nt++)
                  for (int e = 0; e < 2; e++) sum += (sc[nt][l][2 * half + e] = exp2f(sc[nt][l][2 * half + e] - ref));
                l_run[l][half] = l_run[l][half] * alpha + sum;
                m_run[l][half] = m_new;
                for (int nd = 0; nd < DP / 8; nd++) o[l][nd][2 * half] *= alpha, o[l][nd][2 * half + 1] *= alpha;
              }
            }
          for (int kk = 0; kk < kKeys / 16; kk++) {
            float pa[32][4][2];
            for (int l = 0; l < 32; l++)
              for (int r = 0; r < 4; r++)
                for (int h = 0; h < 2; h++) {
                  const FlashRC src = flash_p_from_scores(r, h);
                  pa[l][r][h] = bf(sc[2 * kk + src.row][l][src.col], round);
                }
            for (int nd = 0; nd < DP / 8; nd++) {
              float b[32][2][2], acc[32][4];
              for (int l = 0; l < 32; l++) {
                for (int r = 0; r < 2; r++)
                  for (int h = 0; h < 2; h++) b[l][r][h] = vs[flash_v_frag(l, kk, nd, r, h, SS)];
                memcpy(acc[l], o[l][nd], sizeof acc[l]);
              }
              mma(acc, pa, b);
              for (int l = 0; l < 32; l++) memcpy(o[l][nd], acc[l], sizeof acc[l]);
            }
          }
        }
        for (int l = 0; l < 32; l++)
          for (int half = 0; half < 2; half++) {
            if (q_at[l][half] < 0) continue;
            const int quad0 = l & ~3;
            const float lsum = l_run[quad0][half] + l_run[quad0 + 1][half] + l_run[quad0 + 2][half] + l_run[quad0 + 3][half];
            for (int nd = 0; nd < DP / 8; nd++)
              for (int e = 0; e < 2; e++) {
                const int d = 8 * nd + flash_mma_c(l, 2 * half + e).col;
                if (d < p.D) out[q_at[l][half] + d] = o[l][nd][2 * half + e] / lsum;
              }
          }
      }
    }
  // reference: row j of head h sees keys 0 ..= cached + j, read through the same table
  double num = 0, den = 0;
  for (int j = 0; j < p.n; j++)
    for (int h = 0; h < p.H; h++) {
      const int g = h / G, nk = p.cached + j + 1;
      std::vector<double> w(nk);
      double mx = -1e300, sum = 0;
      for (int t = 0; t < nk; t++) {
        const long off = flash_kv_offset(table[t / p.bs], t, p.bs, kv_row, g, p.D);
        double dot = 0;
        for (int d = 0; d < p.D; d++) dot += (double)q[((long)j * p.H + h) * p.D + d] * kc[off + d];
        w[t] = dot * scale;
        mx = w[t] > mx ? w[t] : mx;
      }
      for (int t = 0; t < nk; t++) sum += (w[t] = exp(w[t] - mx));
      for (int d = 0; d < p.D; d++) {
        double want = 0;
        for (int t = 0; t < nk; t++) want += w[t] * vc[flash_kv_offset(table[t / p.bs], t, p.bs, kv_row, g, p.D) + d];
        want /= sum;
        const double got = out[((long)j * p.H + h) * p.D + d];
        if (!(got == got)) return INFINITY;  // a NaN: an output never written
        num += (got - want) * (got - want);
        max_abs = fabs(got - want) > max_abs ? fabs(got - want) : max_abs;
        den += want * want;
      }
    }
  return num / den;
}

int main(int argc, char **argv) {
  check_maps();
  // (H, KV, D, block size, cached keys, new rows): Medium 3.5's group of 12 (24/2 here), head dim 128, a
  // chunk after a cache that is not a multiple of the tile or block; odd head dims and block sizes; MQA.
  const Problem problems[] = {
      {24, 2, 128, 16, 77, 70}, {8, 8, 64, 16, 0, 37}, {6, 2, 5, 3, 20, 9}, {4, 1, 40, 1, 130, 5},
      {12, 12, 128, 7, 0, 200}, {3, 1, 17, 5, 64, 64},
  };
  const bool round = argc > 1 && strcmp(argv[1], "bf16") == 0;
  unsigned seed = 7;
  for (const Problem &p : problems) {
    double max_abs = 0;
    const double e = emulate(p, round, seed++, max_abs);
    printf("nmse H%d KV%d D%d bs%d cached%d n%d %.3e max_abs %.3e\n", p.H, p.KV, p.D, p.bs, p.cached, p.n, e, max_abs);
  }
  printf("failures %d\n", failures);
  return failures == 0 ? 0 : 1;
}
