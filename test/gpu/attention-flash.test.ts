// The bf16 tensor-core prefill kernel (kernels/cuda/attention_flash.cu), forced on per call with
// GUST_CUDA_ATTENTION=flash, against the CPU backend: chunked prefills after cached keys, chunk and tile
// boundaries, shuffled block tables, odd head dims and block sizes, GQA groups up to Medium 3.5's 96/8,
// f32 / bf16 / FP8 caches, and random shapes. Skips without a GPU like the other suites.
//
// Budget: Q, K, V and the softmax weights P are rounded to bf16 (2^-9 relative) before f32-accumulating
// mmas, so the output is not f32-exact. The host emulation of the same walk with the same rounding
// (test/native/attention-flash-map.cc) measures NMSE 4.5e-6 .. 8.1e-6 and max |error| ≤ 3.2e-3 at these
// input scales; the budget below is NMSE 5e-5 and |error| ≤ 1e-2 + 1e-2·|want| (f32 kernels: 1e-9, 2e-5).
import { describe, expect, it } from "vitest";
import type { KvFormat } from "../../ffi/backend-api.ts";
import type { Backend } from "../../ffi/backend.ts";
import { DType } from "../../ffi/symbols.ts";
import { Rng } from "../../runtime/sampling/rng.ts";
import { type Case, makeProblem, runPaged } from "./attention-problem.ts";
import { withNativeEnv } from "../../ffi/native-env.ts";
import { type Budget, cpu, expectWithin, gpuOrSkip, nmse, standIn } from "./parity.ts";

const gpu = gpuOrSkip("attention-flash");
const BF16_BUDGET: Budget = { abs: 1e-2, rel: 1e-2, nmse: 5e-5 };

const formats: [string, KvFormat][] = [
  ["f32", { dtype: DType.F32, kScale: 1, vScale: 1 }],
  ["bf16", { dtype: DType.BF16, kScale: 1, vScale: 1 }],
  ["fp8", { dtype: DType.F8_E4M3, kScale: 0.01, vScale: 0.005 }],
];

const cases: Case[] = [
  {
    name: "Medium 3.5 heads (96/8), D 128: a prefill and a chunk after 333 cached keys",
    seqs: [{ cached: 0, rows: 150 }, { cached: 333, rows: 65 }],
    H: 96,
    KV: 8,
    D: 128,
    blockSize: 16,
  },
  {
    name: "chunk boundaries on and off the 64-key tile, group 12",
    seqs: [{ cached: 64, rows: 64 }, { cached: 63, rows: 65 }, { cached: 127, rows: 5 }],
    H: 24,
    KV: 2,
    D: 128,
    blockSize: 16,
  },
  {
    name: "prefill + decode rows in one call (decode rows stay on flash-decoding)",
    seqs: [{ cached: 0, rows: 37 }, { cached: 90, rows: 1 }, { cached: 10, rows: 9 }],
    H: 8,
    KV: 8,
    D: 64,
    blockSize: 16,
  },
  { name: "odd head dim 5, block size 3", seqs: [{ cached: 20, rows: 9 }], H: 6, KV: 2, D: 5, blockSize: 3 },
  { name: "head dim 40, block size 1", seqs: [{ cached: 130, rows: 6 }], H: 4, KV: 1, D: 40, blockSize: 1 },
  { name: "head dim 72 (padded to 128), block 7", seqs: [{ cached: 11, rows: 50 }], H: 6, KV: 3, D: 72, blockSize: 7 },
  { name: "head dim 100 (not a multiple of 8)", seqs: [{ cached: 5, rows: 33 }], H: 4, KV: 2, D: 100, blockSize: 5 },
  {
    name: "MQA, group 20, D 64",
    seqs: [{ cached: 33, rows: 12 }, { cached: 0, rows: 70 }],
    H: 20,
    KV: 1,
    D: 64,
    blockSize: 16,
  },
];

/** Random ragged batches: 1..3 sequences of 5..160 new rows after 0..400 cached keys, shapes from the lists. */
function randomCases(rng: Rng, count: number): Case[] {
  const pick = <T>(xs: T[]) => xs[Math.floor(rng.nextFloat() * xs.length)];
  const int = (lo: number, hi: number) => lo + Math.floor(rng.nextFloat() * (hi - lo + 1));
  return Array.from({ length: count }, (_, i) => {
    const [H, KV] = pick([[8, 8], [12, 1], [24, 2], [96, 8], [6, 3]]);
    const c: Case = {
      name: "",
      seqs: Array.from({ length: int(1, 3) }, () => ({ cached: int(0, 400), rows: int(5, 160) })),
      H,
      KV,
      D: pick([64, 128, 96, 80, 17]),
      blockSize: pick([1, 5, 16, 32]),
    };
    c.name = `random ${i}: H${H}/KV${KV} D${c.D} block ${c.blockSize} seqs ${JSON.stringify(c.seqs)}`;
    return c;
  });
}

const flash = <T>(fn: () => T) => withNativeEnv("GUST_CUDA_ATTENTION", "flash", fn);

describe.skipIf(!gpu)("CUDA tensor-core prefill (GUST_CUDA_ATTENTION=flash) matches the CPU backend", () => {
  const rng = new Rng(3939);
  const all = [...cases, ...randomCases(rng, 4)];
  it.each(all.flatMap((c) => formats.map(([f, kv]) => [`${c.name}, ${f} cache`, c, kv] as const)))(
    "%s",
    (name, c, kv) => {
      const p = makeProblem(rng, c);
      const want = runPaged(cpu, p, kv).out;
      const got = flash(() => runPaged(gpu as Backend, p, kv).out);
      expectWithin(got, want, BF16_BUDGET, `${name}: flash attention`);
      if (!standIn) {
        // the switch took effect: today's f32 kernel gives different bits (bf16 rounding shows)
        const today = runPaged(gpu as Backend, p, kv).out;
        expect(nmse(got, today), `${name}: flash and today's kernel agree bit for bit`).toBeGreaterThan(0);
      }
    },
  );

  it("writes every output row (poisoned output buffer)", () => {
    const b = gpu as Backend, p = makeProblem(rng, cases[1]);
    const T = p.slots.length, out = new Float32Array(T * p.c.H * p.c.D).fill(NaN);
    const got = flash(() => runPaged(b, p, formats[1][1], out).out);
    expect(got.every(Number.isFinite)).toBe(true);
  });
});
