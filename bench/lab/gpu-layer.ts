// One decoder layer of Mistral Medium 3.5 at its real shapes (hidden 12288, 96/8 heads, head_dim 128,
// FFN 28672, FP8 E4M3 weights with random values) on the CUDA backend, every figure printed beside its
// ceiling. Not part of `npm test`; run on an H100/H200:
//   bun bench/lab/gpu-layer.ts [--quick] [--json FILE]
// Figures: batch-1 decode layer time vs 1.384 GB / bandwidth (spec and measured), the same per linear;
// decode at batch 8/32/128 and prefill at 1k/8k tokens as TFLOP/s vs the FP8 peak; decode time vs
// context 1k → 64k, attention against its KV bytes. Times are wall clock over many back-to-back layers
// with one synchronisation at the end (the GPU queue runs ahead of the host), after a warm-up.
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { type Backend, createBackend, type DeviceBuffer, DType, type WeightRef } from "../../ffi/backend.ts";

const H = 12288, NH = 96, NKV = 8, D = 128, FFN = 28672, BLOCK = 16, EPS = 1e-5;
const QW = NH * D, KVW = NKV * D;
const LINEARS: [string, number, number][] = [
  ["q_proj", QW, H],
  ["k_proj", KVW, H],
  ["v_proj", KVW, H],
  ["o_proj", H, QW],
  ["gate_proj", FFN, H],
  ["up_proj", FFN, H],
  ["down_proj", H, FFN],
];
const LAYER_BYTES = LINEARS.reduce((a, [, n, k]) => a + n * k, 0); // 1,384,120,320 FP8 bytes
const LINEAR_FLOP_PER_TOKEN = 2 * LAYER_BYTES;

const { values } = parseArgs({ options: { quick: { type: "boolean" }, json: { type: "string" } } });
const quick = values.quick ?? false;

interface Spec {
  name: string;
  bandwidth: number;
  fp8: number;
  fp32: number;
}
function gpuSpec(): Spec {
  let name = "unknown GPU";
  try {
    name = execFileSync("nvidia-smi", ["--query-gpu=name", "--format=csv,noheader"], { encoding: "utf8" }).split(
      "\n",
    )[0].trim();
  } catch { /* no nvidia-smi: keep the H100 figures and say so */ }
  // dense datasheet figures (performance-anchors.md §2); FP32 is the non-tensor FFMA rate
  if (/H200/.test(name)) return { name, bandwidth: 4.8e12, fp8: 1979e12, fp32: 67e12 };
  return {
    name: /H100/.test(name) ? name : `${name} (assuming H100 SXM figures)`,
    bandwidth: 3.35e12,
    fp8: 1979e12,
    fp32: 67e12,
  };
}

let b: Backend;
try {
  b = createBackend("cuda");
} catch (err) {
  console.error(`gpu-layer bench needs the CUDA backend: ${(err as Error).message}`);
  process.exit(1);
}

/** Valid e4m3 codes of moderate size (exponent 4..7: |w| in [2^-3, 2)), no NaN codes. */
function fp8Weights(n: number, salt: number): Uint8Array {
  const pattern = new Uint8Array(1 << 22);
  let s = 0x9e3779b9 ^ salt;
  for (let i = 0; i < pattern.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    pattern[i] = (s & 0x80) | ((4 + ((s >>> 8) & 3)) << 3) | ((s >>> 12) & 7);
  }
  const out = new Uint8Array(n);
  for (let at = 0; at < n; at += pattern.length) out.set(pattern.subarray(0, Math.min(pattern.length, n - at)), at);
  return out;
}

function randomF32(n: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (Math.random() * 2 - 1) * scale;
  return out;
}

const bf16Ones = (n: number) => new Uint8Array(new Uint16Array(n).fill(0x3f80).buffer);
const weights = new Map<string, WeightRef>();
LINEARS.forEach(([name, n, k], i) => {
  weights.set(name, {
    buffer: b.fromHost(fp8Weights(n * k, i)),
    dtype: DType.F8_E4M3,
    actScale: 0.05,
    weightScale: 0.01,
  });
});
const norm = (): WeightRef => ({ buffer: b.fromHost(bf16Ones(H)), dtype: DType.BF16, actScale: 0, weightScale: 1 });
const attnNorm = norm(), mlpNorm = norm();
const ropeLen = 65536 + 16;
const cos = b.fromHost(randomF32(ropeLen * D / 2)), sin = b.fromHost(randomF32(ropeLen * D / 2));

/** Activations, KV cache and batch metadata for `T` rows: `seqs` sequences of `rows` rows after `cached` tokens. */
class Step {
  readonly T: number;
  readonly bufs: Record<string, DeviceBuffer> = {};
  readonly kCache: DeviceBuffer;
  readonly vCache: DeviceBuffer;
  readonly numBlocks: number;
  readonly maxBlocks: number;
  constructor(readonly seqs: number, readonly rows: number, readonly cached: number) {
    const T = (this.T = seqs * rows), ctx = cached + rows;
    this.maxBlocks = Math.ceil(ctx / BLOCK);
    this.numBlocks = seqs * this.maxBlocks;
    const cacheBytes = this.numBlocks * BLOCK * KVW * 4;
    this.kCache = b.alloc(cacheBytes);
    this.vCache = b.alloc(cacheBytes);
    const f = (n: number) => b.alloc(n * 4);
    Object.assign(this.bufs, {
      h: b.fromHost(randomF32(T * H)),
      normed: f(T * H),
      q: f(T * QW),
      k: f(T * KVW),
      v: f(T * KVW),
      attn: f(T * QW),
      proj: f(T * H),
      gate: f(T * FFN),
      up: f(T * FFN),
    });
    const positions = new Int32Array(T), slots = new Int32Array(T), starts = new Int32Array(seqs + 1);
    const tables = new Int32Array(seqs * this.maxBlocks);
    for (let s = 0; s < seqs; s++) {
      for (let i = 0; i < this.maxBlocks; i++) tables[s * this.maxBlocks + i] = s * this.maxBlocks + i;
      for (let j = 0; j < rows; j++) {
        const r = s * rows + j, p = cached + j;
        positions[r] = p;
        slots[r] = tables[s * this.maxBlocks + Math.floor(p / BLOCK)] * BLOCK + (p % BLOCK);
      }
      starts[s + 1] = (s + 1) * rows;
    }
    Object.assign(this.bufs, {
      positions: b.fromHost(positions),
      slots: b.fromHost(slots),
      starts: b.fromHost(starts),
      lens: b.fromHost(new Int32Array(seqs).fill(ctx)),
      tables: b.fromHost(tables),
    });
  }

  linear(name: string, out: string, input: string): void {
    const [, n, k] = LINEARS.find(([x]) => x === name)!;
    b.linear(this.bufs[out], this.bufs[input], weights.get(name)!, this.T, n, k);
  }

  attention(): void {
    const x = this.bufs;
    b.attention({
      out: x.attn,
      q: x.q,
      kCache: this.kCache,
      vCache: this.vCache,
      queryStarts: x.starts,
      contextLens: x.lens,
      blockTables: x.tables,
      numSeqs: this.seqs,
      numTokens: this.T,
      numHeads: NH,
      numKvHeads: NKV,
      headDim: D,
      blockSize: BLOCK,
      maxBlocksPerSeq: this.maxBlocks,
      numBlocks: this.numBlocks,
      scale: 1 / Math.sqrt(D),
    });
  }

  /** The decoder layer exactly as runtime/model/text-model.ts issues it. */
  layer(): void {
    const x = this.bufs, T = this.T;
    b.rmsnorm(x.normed, x.h, attnNorm, T, H, EPS);
    this.linear("q_proj", "q", "normed");
    this.linear("k_proj", "k", "normed");
    this.linear("v_proj", "v", "normed");
    b.rope(x.q, x.positions, cos, sin, T, NH, D, ropeLen);
    b.rope(x.k, x.positions, cos, sin, T, NKV, D, ropeLen);
    b.queryScale(x.q, x.positions, T, QW, 0.1, 8192);
    b.kvWrite(this.kCache, this.vCache, x.k, x.v, x.slots, T, NKV, D, this.numBlocks, BLOCK);
    this.attention();
    this.linear("o_proj", "proj", "attn");
    b.add(x.h, x.h, x.proj, T * H);
    b.rmsnorm(x.normed, x.h, mlpNorm, T, H, EPS);
    this.linear("gate_proj", "gate", "normed");
    this.linear("up_proj", "up", "normed");
    b.siluMul(x.gate, x.gate, x.up, T * FFN);
    this.linear("down_proj", "proj", "gate");
    b.add(x.h, x.h, x.proj, T * H);
  }

  dispose(): void {
    Object.values(this.bufs).forEach((x) => x.dispose());
    this.kCache.dispose();
    this.vCache.dispose();
  }
}

/** Median of `rounds` timings of `reps` back-to-back runs each, in ms per run (after 2 warm-up runs). */
function time(fn: () => void, reps: number, rounds = 5): number {
  fn();
  fn();
  b.synchronize();
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) fn();
    b.synchronize();
    samples.push((performance.now() - t0) / reps);
  }
  samples.sort((x, y) => x - y);
  return samples[Math.floor(samples.length / 2)];
}

const spec = gpuSpec();
const results: Record<string, unknown> = { gpu: spec.name, spec };
const fmt = (ms: number) => `${ms.toFixed(3)} ms`;
const pct = (x: number) => `${(100 * x).toFixed(0)}%`;

// measured streaming bandwidth: gust_read_probe over 4 GiB (reads only)
const probeBytes = 4 * 2 ** 30;
const probe = b.alloc(probeBytes);
const probeMs = time(() => b.readProbe(probe), 3);
probe.dispose();
const measuredBw = probeBytes / (probeMs / 1e3);
results.readBandwidth = measuredBw;
console.log(
  `${spec.name}: HBM ${(spec.bandwidth / 1e12).toFixed(2)} TB/s spec; gust_read_probe reads ${
    (measuredBw / 1e12).toFixed(2)
  } TB/s (4 GiB)`,
);

// ---- batch-1 decode, context 1024 -----------------------------------------------------------------
{
  const step = new Step(1, 1, 1023);
  const ms = time(() => step.layer(), quick ? 20 : 100);
  const kvBytes = 2 * 1024 * KVW * 4;
  const floorSpec = ((LAYER_BYTES + kvBytes) / spec.bandwidth) * 1e3,
    floorMeasured = ((LAYER_BYTES + kvBytes) / measuredBw) * 1e3;
  console.log(
    `\nbatch-1 decode, one layer, context 1024: ${fmt(ms)}   floor ${(LAYER_BYTES / 1e9).toFixed(3)} GB + KV ${
      (kvBytes / 1e6).toFixed(1)
    } MB` +
      ` / spec BW = ${fmt(floorSpec)} (${(ms / floorSpec).toFixed(2)}×; target ≤ 1.3×), / measured BW = ${
        fmt(floorMeasured)
      } (${(ms / floorMeasured).toFixed(2)}×)`,
  );
  const perLinear: Record<string, number> = {};
  for (const [name, n, k] of LINEARS) {
    const out = name === "k_proj" || name === "v_proj"
      ? "k"
      : name === "gate_proj" || name === "up_proj"
      ? "gate"
      : name === "o_proj" || name === "down_proj"
      ? "proj"
      : "q";
    const input = name === "o_proj" ? "attn" : name === "down_proj" ? "gate" : "normed";
    const lms = time(() => step.linear(name, out, input), quick ? 50 : 200);
    perLinear[name] = lms;
    const floor = ((n * k) / spec.bandwidth) * 1e3;
    console.log(
      `  ${name.padEnd(10)} ${String(n).padStart(5)} × ${String(k).padStart(5)}: ${fmt(lms)}  floor ${fmt(floor)} (${
        pct(floor / lms)
      } of spec BW, ${((n * k) / (lms / 1e3) / 1e12).toFixed(2)} TB/s)`,
    );
  }
  const attnMs = time(() => step.attention(), quick ? 50 : 200);
  console.log(`  attention (1024 keys): ${fmt(attnMs)}  floor ${fmt((kvBytes / spec.bandwidth) * 1e3)}`);
  results.batch1 = { ms, floorSpec, floorMeasured, perLinear, attentionMs: attnMs };
  step.dispose();
}

// ---- batched decode: linears are 2·T·1.384 GFLOP; below ~250 rows still bandwidth-bound -------------
{
  console.log("\ndecode batches (each row its own sequence, context 1024):");
  const rows: Record<string, unknown> = {};
  for (const T of quick ? [8, 128] : [8, 32, 128]) {
    const step = new Step(T, 1, 1023);
    const ms = time(() => step.layer(), quick ? 10 : 40);
    const tflops = (T * LINEAR_FLOP_PER_TOKEN) / (ms / 1e3) / 1e12;
    const floor = Math.max(LAYER_BYTES / spec.bandwidth, (T * LINEAR_FLOP_PER_TOKEN) / spec.fp8) * 1e3;
    console.log(
      `  batch ${String(T).padStart(3)}: ${fmt(ms)}/layer, ${(T / ms * 1e3).toFixed(0)} tok/s per layer, linears ${
        tflops.toFixed(1)
      } TFLOP/s` +
        ` (FP8 peak ${(spec.fp8 / 1e12).toFixed(0)}); roofline ${fmt(floor)} (${(ms / floor).toFixed(2)}×)`,
    );
    rows[T] = { ms, tflops, floor };
    step.dispose();
  }
  results.decodeBatches = rows;
}

// ---- prefill: linears at FP8 tensor-core peak; causal attention at the FP32 FFMA peak ---------------
{
  console.log("\nprefill, one sequence from scratch:");
  const rows: Record<string, unknown> = {};
  for (const T of quick ? [1024] : [1024, 8192]) {
    const step = new Step(1, T, 0);
    const ms = time(() => step.layer(), 1, 3);
    const attnMs = time(() => step.attention(), 1, 3);
    const linFlop = T * LINEAR_FLOP_PER_TOKEN, attnFlop = 4 * NH * D * (T * (T + 1)) / 2;
    const linMs = ms - attnMs;
    console.log(
      `  ${T} tokens: ${fmt(ms)}/layer; linears+rest ${fmt(linMs)} = ${
        (linFlop / (linMs / 1e3) / 1e12).toFixed(0)
      } TFLOP/s` +
        ` (${pct(linFlop / (linMs / 1e3) / spec.fp8)} of FP8 peak); attention ${fmt(attnMs)} = ${
          (attnFlop / (attnMs / 1e3) / 1e12).toFixed(1)
        } TFLOP/s` +
        ` (${pct(attnFlop / (attnMs / 1e3) / spec.fp32)} of FP32 FFMA peak); floor ${
          fmt(((linFlop / spec.fp8) + (attnFlop / spec.fp32)) * 1e3)
        }`,
    );
    rows[T] = {
      ms,
      attentionMs: attnMs,
      linearTflops: linFlop / (linMs / 1e3) / 1e12,
      attentionTflops: attnFlop / (attnMs / 1e3) / 1e12,
    };
    step.dispose();
  }
  results.prefill = rows;
}

// ---- batch-1 decode vs context: attention streams 8 KiB of f32 K/V per token per layer --------------
{
  console.log("\nbatch-1 decode vs context (f32 KV cache):");
  const rows: Record<string, unknown> = {};
  for (const ctx of quick ? [1024, 65536] : [1024, 4096, 16384, 65536]) {
    const step = new Step(1, 1, ctx - 1);
    const ms = time(() => step.layer(), quick ? 10 : 40);
    const attnMs = time(() => step.attention(), quick ? 20 : 100);
    const kvBytes = 2 * ctx * KVW * 4;
    const attnFloor = (kvBytes / spec.bandwidth) * 1e3, layerFloor = ((LAYER_BYTES + kvBytes) / spec.bandwidth) * 1e3;
    console.log(
      `  ${String(ctx).padStart(6)} keys: layer ${fmt(ms)} (floor ${fmt(layerFloor)}, ${
        (ms / layerFloor).toFixed(2)
      }×);` +
        ` attention ${fmt(attnMs)} (KV ${(kvBytes / 1e6).toFixed(0)} MB, floor ${fmt(attnFloor)}, ${
          pct(attnFloor / attnMs)
        } of spec BW)`,
    );
    rows[ctx] = { ms, attentionMs: attnMs, layerFloor, attentionFloor: attnFloor };
    step.dispose();
  }
  results.context = rows;
}

if (values.json) writeFileSync(values.json, JSON.stringify(results, null, 2));
