// gust against llama.cpp on the same weights, CPU, same threads, interleaved rounds (issue 32): prefill of 512
// tokens and batched decode at 1, 4 and 16 sequences, FP8 (llama.cpp: Q8_0) and bf16 (llama.cpp: F16). Printed,
// never asserted. node-llama-cpp 3.21.1 lives outside the project's dependencies, in .bench/ with a package.json of
// its own (without one, npm walks up and installs into the project's node_modules):
//   mkdir .bench && echo '{"private":true}' > .bench/package.json && npm install --prefix .bench node-llama-cpp@3.21.1
//   bun bench/lab/gguf-convert.ts FP8_DIR .bench/q8_0.gguf q8_0; bun bench/lab/gguf-convert.ts BF16_DIR .bench/f16.gguf f16
//   bun bench/lab/llama-peer.ts FP8_DIR .bench/q8_0.gguf BF16_DIR .bench/f16.gguf [--rounds 3] [--threads 2]
// Each cell: median (range) per wall-clock second and per second of process CPU time (all threads; on a shared
// machine the second is what the cores gave while this process ran; spinning threads count in it).
import { loadavg } from "node:os";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { createBackend } from "../../ffi/backend.ts";
import { measureBatchScaling } from "../../runtime/bench/batch-scaling.ts";
import { loadModel } from "../../runtime/model/load-model.ts";
import { SingleSequence } from "../../runtime/model/single-sequence.ts";
import { decodeBytesPerToken, readFloorGBps } from "./read-floor.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { rounds: { type: "string", default: "3" }, threads: { type: "string", default: "2" } },
});
const [fp8Dir, q8Gguf, bf16Dir, f16Gguf] = positionals;
const rounds = Number(values.rounds), threads = Number(values.threads), decodeSteps = 16;
const backend = createBackend("cpu", { numThreads: threads });
const { getLlama } = await import(resolve(".bench/node_modules/node-llama-cpp/dist/index.js"));
const llama = await getLlama({ gpu: false, maxThreads: threads });
/** A measured rate: per wall-clock second and per second of this process's CPU time (all threads). */
interface Rate {
  wall: number;
  cpu: number;
}
/** Runs `work` (which handles `units` tokens) and returns its rates. */
async function rate(units: number, work: () => unknown): Promise<Rate> {
  const start = performance.now(), startCpu = process.cpuUsage();
  await work();
  const cpu = process.cpuUsage(startCpu);
  return { wall: units / ((performance.now() - start) / 1000), cpu: units / ((cpu.user + cpu.system) / 1e6) };
}
const prompt = (n: number, vocab: number, salt: number) =>
  Array.from({ length: n }, (_, i) => 3 + ((i * 131 + salt * 977) % (vocab - 3)));

async function gustPrefill(dir: string): Promise<Rate> {
  const loaded = loadModel(dir, backend, { maxPositions: 1024 });
  const seq = new SingleSequence(backend, loaded.model, 520);
  const measured = await rate(512, () => seq.append(prompt(512, loaded.config.text.vocabSize, 1)));
  seq.dispose();
  loaded.dispose();
  return measured;
}

function gustDecode(dir: string, batch: number): Rate {
  const figure = measureBatchScaling(backend, dir, [batch], decodeSteps)[0];
  return { wall: figure.tokensPerSecond, cpu: figure.tokensPerCpuSecond };
}

/** Asks llama.cpp for the token after this one: it computes that row's logits and samples (greedy by default). */
const nextToken = { generateNext: { token: true } };

// deno-lint-ignore no-explicit-any
async function llamaPrefill(model: any, promptLen: number): Promise<Rate> {
  const ctx = await model.createContext({ contextSize: 2048, sequences: 1, threads, batchSize: 512 });
  try {
    const seq = ctx.getSequence(), ids = prompt(promptLen, 8192, 1);
    // the last token asks for its next one, as gust's prefill computes the last row's logits
    const input = ids.map((id, i) => i === ids.length - 1 ? [id, nextToken] : id);
    return await rate(promptLen, () => seq.controlledEvaluate(input));
  } finally {
    await ctx.dispose();
  }
}

/**
 * Batched decode on llama.cpp: one context of `batch` sequences; each step hands every sequence its next token at
 * once (Promise.all), and node-llama-cpp's batch dispatcher packs those into one llama_decode of `batch` tokens,
 * the step gust's engine runs. Each fed token asks for its next token (controlledEvaluate, generateNext): llama.cpp
 * then computes the output layer's logits and samples natively (greedy by default), as gust's step does (lm_head,
 * argmax over 8,192 logits). The fed tokens are fixed, not the sampled ones: the cost is the same.
 * Session 19's driver fed tokens with evaluateWithoutGeneratingNewTokens, which requests no output rows: llama.cpp
 * then skips the output layer and the last layer's FFN (it runs them only for rows with outputs), about half of
 * this 2-layer model, while gust ran them: its llama.cpp rows were ~2× too fast.
 */
// deno-lint-ignore no-explicit-any
async function llamaDecode(model: any, batch: number, steps: number): Promise<Rate> {
  const ctx = await model.createContext({ contextSize: 2048, sequences: batch, threads, batchSize: 512 });
  try {
    const vocab = 8192; // the synthetic models' vocabulary
    const seqs = Array.from({ length: batch }, () => ctx.getSequence());
    await Promise.all(seqs.map((s, b) => s.evaluateWithoutGeneratingNewTokens(prompt(8, vocab, b))));
    const step = (i: number) =>
      Promise.all(seqs.map((s, b) => s.controlledEvaluate([[prompt(1, vocab, b * 31 + i)[0], nextToken]])));
    await step(0); // warm-up
    return await rate(batch * steps, async () => {
      for (let i = 1; i <= steps; i++) await step(i);
    });
  } finally {
    await ctx.dispose();
  }
}

const rows: Record<string, { gust: Rate[]; llama: Rate[] }> = {};
const record = (row: string, who: "gust" | "llama", v: Rate) => {
  rows[row] ??= { gust: [], llama: [] };
  rows[row][who].push(v);
};
const load = () => loadavg().map((l) => l.toFixed(1)).join(" ");
console.log(`threads ${threads}, ${rounds} interleaved rounds, load average ${load()}`);
const floorBefore = readFloorGBps();
const pairs = [["FP8 / Q8_0", fp8Dir, q8Gguf], ["bf16 / F16", bf16Dir, f16Gguf]].filter(([, d, g]) => d && g);
for (const [label, dir, gguf] of pairs) {
  const model = await llama.loadModel({ modelPath: resolve(gguf), gpuLayers: 0 });
  for (let r = 0; r < rounds; r++) {
    record(`${label} prefill 512`, "gust", await gustPrefill(dir));
    record(`${label} prefill 512`, "llama", await llamaPrefill(model, 512));
    for (const batch of [1, 4, 16]) {
      record(`${label} decode ×${batch}`, "gust", gustDecode(dir, batch));
      record(`${label} decode ×${batch}`, "llama", await llamaDecode(model, batch, decodeSteps));
    }
  }
  await model.dispose();
}
console.log(`load average after: ${load()}`);
const floorAfter = readFloorGBps();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const cell = (rates: Rate[], key: keyof Rate) => {
  const xs = rates.map((r) => r[key]);
  return `${median(xs).toFixed(1)} (${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})`;
};
const ratio = (a: Rate[], b: Rate[], key: keyof Rate) =>
  (median(a.map((r) => r[key])) / median(b.map((r) => r[key]))).toFixed(2);
console.log(
  "| row (tok/s) | gust wall | llama.cpp wall | ratio | gust per CPU-s | llama.cpp per CPU-s | ratio |",
);
console.log("|---|---|---|---|---|---|---|");
for (const [row, { gust, llama: peer }] of Object.entries(rows)) {
  console.log(
    `| ${row} | ${cell(gust, "wall")} | ${cell(peer, "wall")} | ${ratio(gust, peer, "wall")} | ` +
      `${cell(gust, "cpu")} | ${cell(peer, "cpu")} | ${ratio(gust, peer, "cpu")} |`,
  );
}
// Batch 1 reads every weight once per token: its rate against the machine's read floor, measured before and after
console.log(`\nsingle-thread read floor (kernels/lab/read_floor.c): ${floorBefore} GB/s before, ${floorAfter} after`);
for (const [label, dir] of pairs) {
  const bytes = decodeBytesPerToken(dir as string), row = rows[`${label} decode ×1`];
  if (!row) continue;
  const gbps = (rates: Rate[]) => (median(rates.map((r) => r.wall)) * bytes / 1e9).toFixed(1);
  console.log(
    `${label} decode ×1 reads ${(bytes / 2 ** 20).toFixed(1)} MiB per token: gust ${gbps(row.gust)} GB/s, ` +
      `llama.cpp ${gbps(row.llama)} GB/s (at the same byte count; Q8_0's block scales add 1/16)`,
  );
}
