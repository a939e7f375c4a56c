// `gust bench --random-model NAME`: flags → runtime/bench/random-model.ts. Progress lines go to stderr as each
// phase ends (a run cut short keeps them); the table (or --json) is the command's output.
import { writeFileSync } from "node:fs";
import { randomModelConfig, randomModels } from "../bench/random-models.ts";
import { runRandomBench } from "../bench/random-model.ts";
import { formatPhase } from "../bench/random-model-report.ts";
import { backendUsage, openBackend, parseBackendFlag } from "./backend-choice.ts";
import { kvCacheDtypeUsage, parseKvCacheDtypeFlag } from "./kv-flags.ts";
import { parseFloatArg, parseIntArg, UsageError } from "./usage-error.ts";

export const randomBenchOptions = {
  "random-model": { type: "string" },
  backend: { type: "string" },
  layers: { type: "string" },
  "kv-cache-dtype": { type: "string" },
  "prompt-tokens": { type: "string" },
  "decode-steps": { type: "string" },
  prefill: { type: "string" },
  "max-batched-tokens": { type: "string" },
  seed: { type: "string" },
  "time-budget-s": { type: "string" },
  "gpu-memory-utilization": { type: "string" },
  "peak-bandwidth-gbs": { type: "string" },
  "peak-fp8-tflops": { type: "string" },
  "json-file": { type: "string" },
  unscaled: { type: "boolean" },
} as const;

export const randomBenchUsage = `gust bench --random-model ${
  Object.keys(randomModels).join("|")
} [--backend ${backendUsage}]
         [--layers N] [--kv-cache-dtype ${kvCacheDtypeUsage}] [--batches 1,8,32,128] [--prompt-tokens 1024]
         [--decode-steps 16] [--prefill 1024,8192,32768|none] [--max-batched-tokens 2048] [--seed 1]
         [--time-budget-s 300] [--gpu-memory-utilization 0.97] [--peak-bandwidth-gbs GB/s] [--peak-fp8-tflops T]
         [--unscaled] [--threads N] [--json] [--json-file FILE]`;

function intList(name: string, raw: string | undefined, fallback: number[]): number[] {
  if (raw === undefined) return fallback;
  if (raw === "none") return [];
  return raw.split(",").map((v) => parseIntArg(name, v.trim(), 0, 1));
}

type Values = { [K in Exclude<keyof typeof randomBenchOptions, "unscaled">]?: string } & {
  unscaled?: boolean;
  batches?: string;
  threads?: string;
  json?: boolean;
};

export function randomBenchCommand(values: Values): string {
  const name = values["random-model"]!;
  if (!randomModels[name]) {
    throw new UsageError(`--random-model must be one of ${Object.keys(randomModels).join(", ")}, got "${name}"`);
  }
  const config = randomModelConfig(name);
  const total = config.text.numLayers;
  const layers = values.layers === undefined ? undefined : parseIntArg("layers", values.layers, total, 1);
  if (layers !== undefined && layers > total) {
    throw new UsageError(`--layers must be at most ${total} (the layers of ${name}), got ${layers}`);
  }
  const utilization = parseFloatArg("gpu-memory-utilization", values["gpu-memory-utilization"], 0.97);
  if (!(utilization > 0 && utilization <= 1)) throw new UsageError("--gpu-memory-utilization must be in (0, 1]");
  const peakBandwidth = parseFloatArg("peak-bandwidth-gbs", values["peak-bandwidth-gbs"], 0) * 1e9 || undefined;
  const peakFp8 = parseFloatArg("peak-fp8-tflops", values["peak-fp8-tflops"], 0) * 1e12 || undefined;
  const backend = openBackend(parseBackendFlag(values.backend, "cpu"), {
    numThreads: parseIntArg("threads", values.threads, 0),
  });
  const jsonFile = values["json-file"];
  const result = runRandomBench(backend, {
    config,
    name,
    layers,
    kvCacheDtype: parseKvCacheDtypeFlag(values["kv-cache-dtype"]),
    batches: intList("batches", values.batches === "none" ? undefined : values.batches, [1, 8, 32, 128]),
    promptTokens: parseIntArg("prompt-tokens", values["prompt-tokens"], 1024, 1),
    decodeSteps: parseIntArg("decode-steps", values["decode-steps"], 16, 1),
    prefillLengths: intList("prefill", values.prefill, [1024, 8192, 32768]),
    maxBatchedTokens: parseIntArg("max-batched-tokens", values["max-batched-tokens"], 2048, 16),
    seed: parseIntArg("seed", values.seed, 1),
    timeBudgetS: parseFloatArg("time-budget-s", values["time-budget-s"], 300),
    gpuMemoryUtilization: utilization,
    unscaled: values.unscaled,
    peakBandwidth,
    peakFp8,
    log: (line) => process.stderr.write(`${line}\n`),
    onPhase: (partial) => jsonFile && writeFileSync(jsonFile, JSON.stringify(partial, null, 2)),
  });
  if (jsonFile) writeFileSync(jsonFile, JSON.stringify(result, null, 2));
  if (values.json) return JSON.stringify(result);
  return [
    `${name} on the ${result.backend} backend: ${result.loadedLayers} of ${result.totalLayers} layers loaded, ` +
    `KV ${result.kvCapacity.dtype}; read probe ${(result.ceilings.measuredBandwidth / 1e9).toFixed(0)} GB/s`,
    ...result.phases.map((p) => formatPhase(p, result.totalLayers)),
    ...result.skipped.map((s) => `skipped ${s}`),
  ].join("\n");
}
