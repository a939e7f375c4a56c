// Where a decode step's CPU time goes (issue 32), through the real engine at batch 1, 4, 16: the one-call path
// (gust_step) split into the native call and the engine's TypeScript around it, then the per-kernel twin with
// every backend call timed by name (linears by N × K; ./timed-backend.ts). Process CPU time (all threads); printed,
// never asserted.
//   bun bench/lab/decode-profile.ts MODEL_DIR [--batches 1,4,16] [--steps 48] [--threads 1]
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { createBackend } from "../../ffi/backend.ts";
import { benchEngine } from "../../runtime/bench/batch-scaling.ts";
import { loadModel } from "../../runtime/model/load-model.ts";
import type { StepCalls } from "../../runtime/model/one-call-step.ts";
import { samplerFactory } from "../../runtime/sampling/sampler-factory.ts";
import { type CallTotals, cpuMs, timedBackend } from "./timed-backend.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    batches: { type: "string", default: "1,4,16" },
    steps: { type: "string", default: "48" },
    threads: { type: "string", default: "1" },
  },
});
const [dir] = positionals;
if (!dir) throw new Error("usage: bun bench/lab/decode-profile.ts MODEL_DIR [--batches 1,4,16] [--steps 48]");
const steps = Number(values.steps), promptLen = 8;
const totals = new Map<string, CallTotals>();
const backend = timedBackend(createBackend("cpu", { numThreads: Number(values.threads) }), totals);
const loaded = loadModel(dir, backend, { maxPositions: promptLen + steps + 8 });
const vocab = loaded.config.text.vocabSize;

/** CPU ms per decode step in all, and the per-name totals of the timed steps. */
function profile(batch: number, stepCalls: StepCalls): number {
  loaded.model.stepCalls = stepCalls;
  const { engine, cache } = benchEngine(backend, loaded, batch, promptLen + steps + 2);
  for (let b = 0; b < batch; b++) {
    const promptIds = Array.from({ length: promptLen }, (_, i) => (b * 97 + i * 13 + 5) % vocab);
    const sampler = samplerFactory({ temperature: 0 }, vocab, promptIds);
    engine.add({ requestId: `b${b}`, promptIds, maxTokens: steps + 2, ignoreEos: true, sampler });
  }
  engine.step(); // prefill
  engine.step(); // warm-up decode step
  totals.clear();
  const cpu = cpuMs();
  for (let s = 0; s < steps; s++) engine.step();
  const perStep = (cpuMs() - cpu) / steps;
  cache.dispose();
  return perStep;
}

const ms = (v: number) => v.toFixed(3).padStart(8);
console.log(`decode profile of ${dir}, ${values.threads} thread(s), ${steps} steps per row, CPU ms per step`);
console.log(`load average before: ${loadavg().map((l) => l.toFixed(1)).join(" ")}`);
for (const batch of values.batches.split(",").map(Number)) {
  const oneCall = profile(batch, "one-call");
  const native = [...totals.values()].reduce((sum, t) => sum + t.cpuMs, 0) / steps;
  const step = (totals.get("step")?.cpuMs ?? 0) / steps;
  console.log(
    `\n×${batch} one-call: step ${ms(oneCall)}  gust_step ${ms(step)}  other native ${ms(native - step)}  ` +
      `engine TypeScript ${ms(oneCall - native)} (${(100 * (oneCall - native) / oneCall).toFixed(1)} %)`,
  );
  const perKernel = profile(batch, "per-kernel");
  const kernels = [...totals].sort((a, b) => b[1].cpuMs - a[1].cpuMs);
  const kernelSum = kernels.reduce((sum, [, t]) => sum + t.cpuMs, 0) / steps;
  console.log(
    `×${batch} per-kernel: step ${ms(perKernel)}  kernels ${ms(kernelSum)}  host ${ms(perKernel - kernelSum)}`,
  );
  for (const [name, t] of kernels) {
    const share = (100 * t.cpuMs / steps / perKernel).toFixed(1).padStart(5);
    console.log(
      `  ${name.padEnd(22)} calls/step ${(t.calls / steps).toFixed(1).padStart(5)}  ${ms(t.cpuMs / steps)}  ${share} %`,
    );
  }
}
console.log(`\nload average after: ${loadavg().map((l) => l.toFixed(1)).join(" ")}`);
loaded.dispose();
