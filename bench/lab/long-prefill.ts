// Long-prompt prefill on gust-mini (issue 32): the time to prefill N tokens in the engine's 2,048-token chunks,
// and the attention kernel's GFLOP/s at those lengths beside this machine's measured FMA peak (same run).
// Printed, never asserted; on a shared VM read the CPU-seconds column next to the wall-clock one, and the
// attention's rate per CPU-second next to the FMA peak's (kernels/lab/fma_peak.c prints both).
//   bun bench/lab/long-prefill.ts [--lengths 16384,40960] [--chunk 2048] [--repeats 3] [--threads 2] [--kv bf16]
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createBackend } from "../../ffi/backend.ts";
import { defaultModelDir } from "../../runtime/config/default-model.ts";
import { type KvCacheDtype, kvNativeDtype } from "../../runtime/model/kv-cache.ts";
import { loadModel } from "../../runtime/model/load-model.ts";
import { SingleSequence } from "../../runtime/model/single-sequence.ts";
import { repoRoot } from "../../test/helpers/fixtures.ts";

const { values } = parseArgs({
  options: {
    lengths: { type: "string", default: "16384,40960" },
    chunk: { type: "string", default: "2048" },
    repeats: { type: "string", default: "3" },
    threads: { type: "string", default: "2" },
    kv: { type: "string", default: "bf16" }, // the server's default KV cache (f32 or bf16 here; FP8 needs calibration)
  },
});
const threads = Number(values.threads), chunk = Number(values.chunk), repeats = Number(values.repeats);
const kv = values.kv as KvCacheDtype;
if (kv !== "f32" && kv !== "bf16") throw new Error(`--kv must be f32 or bf16, got ${kv}`);
const backend = createBackend("cpu", { numThreads: threads });

/** Best-of-5 GFLOP/s of 12 independent FMA chains per thread (kernels/lab/fma_peak.c): per wall and CPU second. */
function fmaPeak(): { wall: number; cpu: number } {
  const exe = join(mkdtempSync(join(tmpdir(), "gust-peak-")), "fma_peak");
  // -O3: at -O2 GCC kept the 12 accumulators in memory and the "peak" came out ~2.4× too low (sessions before 19)
  execFileSync("cc", ["-O3", "-mavx2", "-mfma", "-fopenmp", join(repoRoot, "kernels/lab/fma_peak.c"), "-o", exe]);
  // passive waiting: a thread done early sleeps instead of spinning, so CPU seconds count only the chains
  const env = { ...process.env, OMP_WAIT_POLICY: "PASSIVE" };
  const [wall, cpu] = execFileSync(exe, [String(threads)], { encoding: "utf8", env }).split(" ").map(Number);
  return { wall, cpu };
}

const loaded = loadModel(defaultModelDir, backend);
const c = loaded.config.text;
const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const load = () => loadavg().map((l) => l.toFixed(1)).join(" ");
console.log(`gust-mini prefill, ${threads} threads, chunks of ${chunk}, KV ${kv}, load average ${load()}`);
const peaks = [fmaPeak()];
for (const length of values.lengths!.split(",").map(Number)) {
  const wall: number[] = [], cpu: number[] = [], attention: number[] = [], attentionCpu: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const seq = new SingleSequence(backend, loaded.model, length, 16, kv);
    const ids = Array.from({ length }, (_, i) => 20 + ((i * 7919) % (c.vocabSize - 20)));
    const start = performance.now(), startCpu = cpuSeconds();
    for (let at = 0; at < length; at += chunk) seq.append(ids.slice(at, at + chunk));
    wall.push((performance.now() - start) / 1000);
    cpu.push(cpuSeconds() - startCpu);
    const rate = timeAttention(seq, length);
    attention.push(rate.wall), attentionCpu.push(rate.cpu);
    seq.dispose();
  }
  peaks.push(fmaPeak());
  console.log(
    `prefill ${length} tokens: wall ${median(wall).toFixed(1)} s (spread ${spread(wall)}), ` +
      `CPU ${median(cpu).toFixed(1)} s (spread ${spread(cpu)}); attention of the last chunk ` +
      `${median(attention).toFixed(1)} GFLOP/s (spread ${spread(attention)}), ` +
      `${median(attentionCpu).toFixed(1)} per CPU-second (spread ${spread(attentionCpu)}); load average ${load()}`,
  );
}
const peakList = (key: "wall" | "cpu") => peaks.map((p) => p[key].toFixed(1)).join(", ");
console.log(
  `measured FMA peak (${threads} threads): ${peakList("wall")} GFLOP/s; per CPU-second ${peakList("cpu")}`,
);
loaded.dispose();

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b), mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** min–max of the runs, for the spread beside each median */
function spread(xs: number[]): string {
  return `${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}`;
}

/** GFLOP/s (per wall and per CPU second) of one layer's attention for the last chunk of a prefilled sequence
 * (q·k and p·v, 2 FLOP each). */
function timeAttention(seq: SingleSequence, length: number): { wall: number; cpu: number } {
  const rows = Math.min(chunk, length), H = c.numHeads, D = c.headDim;
  using q = backend.fromHost(Float32Array.from({ length: rows * H * D }, (_, i) => Math.sin(i) * 0.5));
  using out = backend.alloc(rows * H * D * 4);
  using qs = backend.fromHost(Int32Array.of(0, rows));
  using cl = backend.fromHost(Int32Array.of(length));
  using bt = backend.fromHost(seq.blockTable);
  const start = performance.now(), startCpu = cpuSeconds();
  backend.attention({
    out,
    q,
    kCache: seq.cache.k[0],
    vCache: seq.cache.v[0],
    queryStarts: qs,
    contextLens: cl,
    blockTables: bt,
    numSeqs: 1,
    numTokens: rows,
    numHeads: H,
    numKvHeads: c.numKvHeads,
    headDim: D,
    blockSize: seq.blockSize,
    maxBlocksPerSeq: seq.blockTable.length,
    numBlocks: seq.cache.numBlocks,
    scale: 1 / Math.sqrt(D),
    kvFormat: { dtype: kvNativeDtype[kv], kScale: 1, vScale: 1 },
  });
  const seconds = (performance.now() - start) / 1000, cpu = cpuSeconds() - startCpu;
  // row j of the chunk sees length − rows + j + 1 keys
  const gflop = (rows * (length - rows) + (rows * (rows + 1)) / 2) * H * D * 4 / 1e9;
  return { wall: gflop / seconds, cpu: gflop / cpu };
}
