// Causal prefill attention alone at Mistral Medium 3.5's shapes (96 query heads over 8 KV heads, head_dim 128,
// 16-token blocks, bf16 cache): today's f32 FFMA kernel beside the bf16 tensor-core kernel
// (GUST_CUDA_ATTENTION=flash), as time per call and TFLOP/s of the causal work (2 · T² · D · H: QKᵀ and P·V over
// the lower triangle). Not part of `npm test`; run on an H100/H200 (tools/gpu/device-check.sh's `attention`):
//   bun bench/lab/gpu-attention.ts [--tokens 8192,32768] [--budget-s 25] [--json FILE]
// Each figure is the median of timed calls (one synchronisation per call, after a warm-up), with min and max;
// a size is skipped when the previous one says it would not fit the time budget.
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { createBackend, type DeviceBuffer, DType } from "../../ffi/backend.ts";
import { setNativeEnv } from "../../ffi/native-env.ts";

const NH = 96, NKV = 8, D = 128, BLOCK = 16;
const { values } = parseArgs({
  options: { tokens: { type: "string" }, "budget-s": { type: "string" }, json: { type: "string" } },
});
const sizes = (values.tokens ?? "8192,32768").split(",").map(Number);
const budgetMs = Number(values["budget-s"] ?? 25) * 1000;
const started = performance.now();
const b = createBackend("cuda");

interface Row {
  tokens: number;
  kernel: string;
  medianMs: number;
  minMs: number;
  maxMs: number;
  tflops: number;
}
const rows: Row[] = [];

function timeCalls(call: () => void, reps: number): number[] {
  call();
  b.synchronize();
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    call();
    b.synchronize();
    ms.push(performance.now() - t0);
  }
  return ms.sort((x, y) => x - y);
}

for (const T of sizes) {
  const flop = 2 * T * T * D * NH; // causal: half of 4 · T² · D per head
  const predictedMs = (flop / 20e12) * 1000 * 6; // today's kernel at ~20 TFLOP/s, ~6 calls with warm-up
  if (performance.now() - started + predictedMs > budgetMs) {
    console.log(`attention ${T} tokens: skipped (about ${Math.round(predictedMs)} ms would pass the budget)`);
    continue;
  }
  const maxBlocks = Math.ceil(T / BLOCK), kvBytes = T * NKV * D * 2;
  const bufs: DeviceBuffer[] = [];
  const random = (bytes: number, count: number, dtype: DType, tensorId: number) => {
    const buf = b.alloc(bytes);
    b.fillRandom(buf, { count, dtype, seed: 39, tensorId, firstIndex: 0, offset: 0, scale: 1 });
    bufs.push(buf);
    return buf;
  };
  const q = random(T * NH * D * 4, T * NH * D, DType.F32, 1);
  const kCache = random(kvBytes, T * NKV * D, DType.BF16, 2), vCache = random(kvBytes, T * NKV * D, DType.BF16, 3);
  const out = b.alloc(T * NH * D * 4);
  const host = [Int32Array.from([0, T]), Int32Array.from([T]), Int32Array.from({ length: maxBlocks }, (_, i) => i)];
  const [starts, lens, tables] = host.map((x) => b.fromHost(x));
  bufs.push(out, starts, lens, tables);
  const call = () =>
    b.attention({
      out,
      q,
      kCache,
      vCache,
      queryStarts: starts,
      contextLens: lens,
      blockTables: tables,
      numSeqs: 1,
      numTokens: T,
      numHeads: NH,
      numKvHeads: NKV,
      headDim: D,
      blockSize: BLOCK,
      maxBlocksPerSeq: maxBlocks,
      numBlocks: maxBlocks,
      scale: 1 / Math.sqrt(D),
      kvFormat: { dtype: DType.BF16, kScale: 1, vScale: 1 },
    });
  for (const kernel of ["ffma", "flash"]) {
    setNativeEnv("GUST_CUDA_ATTENTION", kernel === "flash" ? "flash" : null);
    const ms = timeCalls(call, kernel === "flash" ? 10 : 3);
    const med = ms[Math.floor(ms.length / 2)];
    rows.push({
      tokens: T,
      kernel,
      medianMs: med,
      minMs: ms[0],
      maxMs: ms.at(-1)!,
      tflops: flop / (med / 1000) / 1e12,
    });
    const r = rows.at(-1)!;
    console.log(
      `attention ${T} tokens, ${kernel.padEnd(5)}: ${r.medianMs.toFixed(2)} ms median (${r.minMs.toFixed(2)}–` +
        `${r.maxMs.toFixed(2)}, ${ms.length} calls), ${r.tflops.toFixed(1)} TFLOP/s`,
    );
  }
  setNativeEnv("GUST_CUDA_ATTENTION", null);
  bufs.forEach((x) => x.dispose());
}
if (values.json) writeFileSync(values.json, JSON.stringify({ shapes: { NH, NKV, D, BLOCK }, rows }, null, 2));
