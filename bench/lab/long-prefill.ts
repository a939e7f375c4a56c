// Long-prompt prefill on gust-mini (issue 32): the time to prefill N tokens in the engine's 2,048-token chunks,
// and the attention kernel's GFLOP/s at those lengths beside this machine's measured FMA peak (same run).
// Printed, never asserted; on a shared VM read the CPU-seconds column next to the wall-clock one.
//   bun bench/lab/long-prefill.ts [--lengths 16384,40960] [--chunk 2048] [--repeats 3] [--threads 2]
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createBackend } from "../../ffi/backend.ts";
import { defaultModelDir } from "../../runtime/config/default-model.ts";
import { loadModel } from "../../runtime/model/load-model.ts";
import { SingleSequence } from "../../runtime/model/single-sequence.ts";
import { repoRoot } from "../../test/helpers/fixtures.ts";

const { values } = parseArgs({
  options: {
    lengths: { type: "string", default: "16384,40960" },
    chunk: { type: "string", default: "2048" },
    repeats: { type: "string", default: "3" },
    threads: { type: "string", default: "2" },
  },
});
const threads = Number(values.threads), chunk = Number(values.chunk), repeats = Number(values.repeats);
const backend = createBackend("cpu", { numThreads: threads });

/** Best-of-5 GFLOP/s of 12 independent FMA chains per thread (kernels/lab/fma_peak.c). */
function fmaPeak(): number {
  const exe = join(mkdtempSync(join(tmpdir(), "gust-peak-")), "fma_peak");
  execFileSync("cc", ["-O2", "-mavx2", "-mfma", "-fopenmp", join(repoRoot, "kernels/lab/fma_peak.c"), "-o", exe]);
  return Number(execFileSync(exe, [String(threads)], { encoding: "utf8" }).split(" ")[0]);
}

const loaded = loadModel(defaultModelDir, backend);
const c = loaded.config.text;
const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
console.log(
  `gust-mini prefill, ${threads} threads, chunks of ${chunk}, load average ${
    loadavg().map((l) => l.toFixed(1)).join(" ")
  }`,
);
const peaks: number[] = [];
peaks.push(fmaPeak());
for (const length of values.lengths!.split(",").map(Number)) {
  const wall: number[] = [], cpu: number[] = [], attention: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const seq = new SingleSequence(backend, loaded.model, length);
    const ids = Array.from({ length }, (_, i) => 20 + ((i * 7919) % (c.vocabSize - 20)));
    const start = performance.now(), startCpu = cpuSeconds();
    for (let at = 0; at < length; at += chunk) seq.append(ids.slice(at, at + chunk));
    wall.push((performance.now() - start) / 1000);
    cpu.push(cpuSeconds() - startCpu);
    attention.push(timeAttention(seq, length));
    seq.dispose();
  }
  peaks.push(fmaPeak());
  console.log(
    `prefill ${length} tokens: wall ${median(wall).toFixed(1)} s (spread ${spread(wall)}), ` +
      `CPU ${median(cpu).toFixed(1)} s; attention of the last chunk ${median(attention).toFixed(1)} GFLOP/s ` +
      `(spread ${spread(attention)})`,
  );
}
console.log(`measured FMA peak (${threads} threads): ${peaks.map((p) => p.toFixed(1)).join(", ")} GFLOP/s`);
loaded.dispose();

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b), mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** min–max of the runs, for the spread beside each median */
function spread(xs: number[]): string {
  return `${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}`;
}

/** GFLOP/s of one layer's attention for the last chunk of a prefilled sequence (q·k and p·v, 2 FLOP each). */
function timeAttention(seq: SingleSequence, length: number): number {
  const rows = Math.min(chunk, length), H = c.numHeads, D = c.headDim;
  using q = backend.fromHost(Float32Array.from({ length: rows * H * D }, (_, i) => Math.sin(i) * 0.5));
  using out = backend.alloc(rows * H * D * 4);
  using qs = backend.fromHost(Int32Array.of(0, rows));
  using cl = backend.fromHost(Int32Array.of(length));
  using bt = backend.fromHost(seq.blockTable);
  const start = performance.now();
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
  });
  const seconds = (performance.now() - start) / 1000;
  // row j of the chunk sees length − rows + j + 1 keys
  const keys = rows * (length - rows) + (rows * (rows + 1)) / 2;
  return (keys * H * D * 4) / seconds / 1e9;
}
