// gust against llama.cpp on the same weights, CPU, same threads, interleaved rounds (issue 32): prefill of 512
// tokens and batched decode at 1, 4 and 16 sequences, FP8 (llama.cpp: Q8_0) and bf16 (llama.cpp: F16). Printed,
// never asserted. node-llama-cpp 3.21.1 lives outside the project's dependencies, in .bench/ with a package.json of
// its own (without one, npm walks up and installs into the project's node_modules):
//   mkdir .bench && echo '{"private":true}' > .bench/package.json && npm install --prefix .bench node-llama-cpp@3.21.1
//   bun bench/lab/gguf-convert.ts FP8_DIR .bench/q8_0.gguf q8_0; bun bench/lab/gguf-convert.ts BF16_DIR .bench/f16.gguf f16
//   bun bench/lab/llama-peer.ts FP8_DIR .bench/q8_0.gguf BF16_DIR .bench/f16.gguf [--rounds 3] [--threads 2]
import { loadavg } from "node:os";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { createBackend } from "../../ffi/backend.ts";
import { measureBatchScaling } from "../../runtime/bench/batch-scaling.ts";
import { loadModel } from "../../runtime/model/load-model.ts";
import { SingleSequence } from "../../runtime/model/single-sequence.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { rounds: { type: "string", default: "3" }, threads: { type: "string", default: "2" } },
});
const [fp8Dir, q8Gguf, bf16Dir, f16Gguf] = positionals;
const rounds = Number(values.rounds), threads = Number(values.threads), decodeSteps = 16;
const backend = createBackend("cpu", { numThreads: threads });
const { getLlama } = await import(resolve(".bench/node_modules/node-llama-cpp/dist/index.js"));
const llama = await getLlama({ gpu: false, maxThreads: threads });
const prompt = (n: number, vocab: number, salt: number) =>
  Array.from({ length: n }, (_, i) => 3 + ((i * 131 + salt * 977) % (vocab - 3)));

function gustPrefill(dir: string): number {
  const loaded = loadModel(dir, backend, { maxPositions: 1024 });
  const seq = new SingleSequence(backend, loaded.model, 520);
  const start = performance.now();
  seq.append(prompt(512, loaded.config.text.vocabSize, 1));
  const seconds = (performance.now() - start) / 1000;
  seq.dispose();
  loaded.dispose();
  return 512 / seconds;
}

function gustDecode(dir: string, batch: number): number {
  return measureBatchScaling(backend, dir, [batch], decodeSteps)[0].tokensPerSecond;
}

// deno-lint-ignore no-explicit-any
async function llamaPrefill(model: any, promptLen: number): Promise<number> {
  const ctx = await model.createContext({ contextSize: 2048, sequences: 1, threads, batchSize: 512 });
  try {
    const start = performance.now();
    await ctx.getSequence().evaluateWithoutGeneratingNewTokens(prompt(promptLen, 8192, 1));
    return promptLen / ((performance.now() - start) / 1000);
  } finally {
    await ctx.dispose();
  }
}

/**
 * Batched decode on llama.cpp: one context of `batch` sequences; each step hands every sequence its next token at
 * once (Promise.all), and node-llama-cpp's batch dispatcher packs those into one llama_decode of `batch` tokens,
 * the step gust's engine runs. Tokens are fed, not sampled (gust samples greedily: an argmax over 8,192 logits).
 * An earlier driver ran one `evaluate` generator per sequence and measured 2–7 tok/s: that path samples in
 * JavaScript per token and did not batch.
 */
// deno-lint-ignore no-explicit-any
async function llamaDecode(model: any, batch: number, steps: number): Promise<number> {
  const ctx = await model.createContext({ contextSize: 2048, sequences: batch, threads, batchSize: 512 });
  try {
    const vocab = 8192; // the synthetic models' vocabulary
    const seqs = Array.from({ length: batch }, () => ctx.getSequence());
    await Promise.all(seqs.map((s, b) => s.evaluateWithoutGeneratingNewTokens(prompt(8, vocab, b))));
    const step = (i: number) =>
      Promise.all(seqs.map((s, b) => s.evaluateWithoutGeneratingNewTokens(prompt(1, vocab, b * 31 + i))));
    await step(0); // warm-up
    const start = performance.now();
    for (let i = 1; i <= steps; i++) await step(i);
    return (batch * steps) / ((performance.now() - start) / 1000);
  } finally {
    await ctx.dispose();
  }
}

const rows: Record<string, { gust: number[]; llama: number[] }> = {};
const record = (row: string, who: "gust" | "llama", v: number) => {
  rows[row] ??= { gust: [], llama: [] };
  rows[row][who].push(v);
};
console.log(
  `threads ${threads}, ${rounds} interleaved rounds, load average ${loadavg().map((l) => l.toFixed(1)).join(" ")}`,
);
const pairs = [["FP8 / Q8_0", fp8Dir, q8Gguf], ["bf16 / F16", bf16Dir, f16Gguf]].filter(([, d, g]) => d && g);
for (const [label, dir, gguf] of pairs) {
  const model = await llama.loadModel({ modelPath: resolve(gguf), gpuLayers: 0 });
  for (let r = 0; r < rounds; r++) {
    record(`${label} prefill 512 (tok/s)`, "gust", gustPrefill(dir));
    record(`${label} prefill 512 (tok/s)`, "llama", await llamaPrefill(model, 512));
    for (const batch of [1, 4, 16]) {
      record(`${label} decode ×${batch} (tok/s)`, "gust", gustDecode(dir, batch));
      record(`${label} decode ×${batch} (tok/s)`, "llama", await llamaDecode(model, batch, decodeSteps));
    }
  }
  await model.dispose();
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const range = (xs: number[]) => `${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}`;
console.log("| row | gust median (range) | llama.cpp median (range) | gust ÷ llama.cpp |");
console.log("|---|---|---|---|");
for (const [row, { gust, llama: peer }] of Object.entries(rows)) {
  console.log(
    `| ${row} | ${median(gust).toFixed(1)} (${range(gust)}) | ${median(peer).toFixed(1)} (${range(peer)}) | ${
      (median(gust) / median(peer)).toFixed(2)
    } |`,
  );
}
