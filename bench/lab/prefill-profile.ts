// Where the CPU-seconds of a long gust-mini prefill go (issue 32): every backend call of the forward is timed
// (wall and process CPU time, which counts all OpenMP threads) and summed per kernel; linears by N × K.
// Printed, never asserted. The calls are synchronous on the CPU backend, so a call's time is its kernel's.
//   bun bench/lab/prefill-profile.ts [--length 16384] [--chunk 2048] [--threads 2] [--kv bf16] [--model DIR]
// (default model: gust-mini)
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { createBackend } from "../../ffi/backend.ts";
import { defaultModelDir } from "../../runtime/config/default-model.ts";
import type { KvCacheDtype } from "../../runtime/model/kv-cache.ts";
import { loadModel } from "../../runtime/model/load-model.ts";
import { SingleSequence } from "../../runtime/model/single-sequence.ts";
import { type CallTotals, cpuMs, timedBackend } from "./timed-backend.ts";

const { values } = parseArgs({
  options: {
    length: { type: "string", default: "16384" },
    chunk: { type: "string", default: "2048" },
    threads: { type: "string", default: "2" },
    kv: { type: "string", default: "bf16" },
    model: { type: "string", default: defaultModelDir },
  },
});
const length = Number(values.length), chunk = Number(values.chunk);
const backend = createBackend("cpu", { numThreads: Number(values.threads) });
const totals = new Map<string, CallTotals>();

const profiled = timedBackend(backend, totals);
const loaded = loadModel(values.model, profiled, { maxPositions: length });
const c = loaded.config.text;
const seq = new SingleSequence(profiled, loaded.model, length, 16, values.kv as KvCacheDtype);
const ids = Array.from({ length }, (_, i) => 20 + ((i * 7919) % (c.vocabSize - 20)));
totals.clear();
console.log(`${values.model} prefill ${length} tokens, chunks of ${chunk}, ${values.threads} threads, KV ${values.kv}`);
console.log(`load average before: ${loadavg().map((l) => l.toFixed(1)).join(" ")}`);
const wall = performance.now(), cpu = cpuMs();
for (let at = 0; at < length; at += chunk) seq.append(ids.slice(at, at + chunk));
const wallS = (performance.now() - wall) / 1000, cpuS = (cpuMs() - cpu) / 1000;
console.log(`total: wall ${wallS.toFixed(1)} s, CPU ${cpuS.toFixed(1)} s; load after ${loadavg()[0].toFixed(1)}`);
const rows = [...totals].sort((a, b) => b[1].cpuMs - a[1].cpuMs);
for (const [name, t] of rows) {
  console.log(
    `${name.padEnd(22)} calls ${String(t.calls).padStart(5)}  wall ${(t.wallMs / 1000).toFixed(2).padStart(7)} s  ` +
      `CPU ${(t.cpuMs / 1000).toFixed(2).padStart(7)} s  (${(100 * t.cpuMs / 1000 / cpuS).toFixed(1)} %)`,
  );
}
seq.dispose();
loaded.dispose();
