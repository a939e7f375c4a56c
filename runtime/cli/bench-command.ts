// `gust bench`: CPU decode tokens/s of the bundled tiny models and of a synthetic FP8 model large
// enough to live in DRAM, next to this machine's measured read bandwidth. Timings only; no pass/fail.
import { join, resolve } from "node:path";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createBackend } from "../../ffi/backend.ts";
import { type BatchFigure, measureBatchScaling } from "../bench/batch-scaling.ts";
import { measureSpeculation } from "../bench/speculative.ts";
import { type DecodeFigures, measureDecode, measureReadBandwidth, syntheticModelDir } from "../bench/cpu-decode.ts";
import { parseIntArg, UsageError } from "./usage-error.ts";
import { formatStepFigures, measureStepTime } from "../bench/tensor-parallel.ts";
import { formatSamplerFigures, measureSampler, type SamplerFigure } from "../bench/sampler.ts";
import { formatStepPaths, measureStepPaths, type StepPathFigure } from "../bench/step-paths.ts";
import { parseTensorParallel, tensorParallelOptions, tensorParallelUsage } from "./tensor-parallel-flag.ts";
import { randomBenchCommand, randomBenchOptions, randomBenchUsage } from "./random-bench-command.ts";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

export async function benchCommand(argv: string[]): Promise<string> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        threads: { type: "string" },
        tokens: { type: "string" },
        batches: { type: "string" },
        json: { type: "boolean" },
        "spec-model": { type: "string" },
        "spec-draft": { type: "string" },
        "tp-model": { type: "string" },
        ...tensorParallelOptions,
        ...randomBenchOptions,
      },
    }));
  } catch (err) {
    throw new UsageError(
      `${
        (err as Error).message
      }\nusage: gust bench [--threads N] [--tokens N] [--batches 1,4,16,64] [--spec-model DIR --spec-draft DIR] [--json]
       gust bench ${tensorParallelUsage} [--tp-model DIR] [--threads N] [--tokens N] [--json]
       ${randomBenchUsage}`,
    );
  }
  if (values["random-model"] !== undefined) return randomBenchCommand(values);
  const backend = createBackend("cpu", { numThreads: parseIntArg("threads", values.threads, 0) });
  const tokens = parseIntArg("tokens", values.tokens, 32, 1);
  const tensorParallel = parseTensorParallel(values);
  if (tensorParallel > 1) {
    // only the comparison asked for: TP 1 and TP N of one model (default: the synthetic FP8 model)
    const dir = values["tp-model"] ?? syntheticModelDir(join(repoRoot, ".bench"));
    const figures = [1, tensorParallel].map((n) => measureStepTime(backend, dir, n, tokens));
    if (values.json) return JSON.stringify({ threads: backend.numThreads, model: dir, figures });
    return formatStepFigures(values["tp-model"] ?? "synthetic FP8 (8 × 2048/7168)", figures, backend.numThreads)
      .join("\n");
  }
  const samplerVocab = 131_072, sampler = measureSampler(backend, samplerVocab);
  const bandwidth = measureReadBandwidth(backend);
  const fixtures = join(repoRoot, "test", "fixtures");
  const rows: DecodeFigures[] = [
    measureDecode(backend, join(fixtures, "tiny-mistral3"), "tiny-mistral3 (bf16)", tokens * 4),
    measureDecode(backend, join(fixtures, "tiny-mistral3-fp8"), "tiny-mistral3-fp8", tokens * 4),
    measureDecode(backend, syntheticModelDir(join(repoRoot, ".bench")), "synthetic FP8 (8 × 2048/7168)", tokens),
  ];
  const batches = (values.batches ?? "1,4,16,64").split(",").map((b) => parseIntArg("batches", b, 1, 1));
  const syntheticDir = syntheticModelDir(join(repoRoot, ".bench"));
  const scaling: Record<string, BatchFigure[]> = {
    "tiny-mistral3-fp8": measureBatchScaling(backend, join(fixtures, "tiny-mistral3-fp8"), batches, tokens),
    "synthetic FP8": measureBatchScaling(backend, syntheticDir, batches, Math.max(4, Math.round(tokens / 4))),
  };
  const stepPaths = measureStepPaths(backend, syntheticDir, [16, 64], Math.max(2, Math.round(tokens / 16)));
  const speculation = measureSpeculation(
    backend,
    values["spec-model"] ?? join(fixtures, "tiny-mistral3-fp8"),
    values["spec-draft"] ?? join(fixtures, "tiny-mistral3-eagle"),
    [1, 4, 16],
    tokens,
  );
  if (values.json) {
    return JSON.stringify({
      threads: backend.numThreads,
      vectorized: backend.vectorized,
      readBandwidth: bandwidth,
      rows,
      scaling,
      speculation,
      sampler,
      stepPaths,
    });
  }
  const gb = (b: number) => (b / 1e9).toFixed(2);
  const lines = [
    `CPU backend: ${backend.numThreads} threads, ${backend.vectorized ? "AVX2/FMA/F16C" : "portable"} kernels`,
    `measured read bandwidth: ${gb(bandwidth)} GB/s`,
    "",
    "model                              weights MB   tokens/s   weight GB/s   share of bandwidth",
    ...rows.map((r) =>
      `${r.model.padEnd(34)} ${(r.weightBytes / 1e6).toFixed(1).padStart(10)} ${
        r.tokensPerSecond.toFixed(1).padStart(10)
      } ${gb(r.bytesPerSecond).padStart(13)} ${((100 * r.bytesPerSecond) / bandwidth).toFixed(0).padStart(19)}%`
    ),
    "",
    "batch scaling through the engine (efficiency = tok/s at B ÷ (B × tok/s at 1))",
    ...Object.entries(scaling).flatMap(([model, figs]) =>
      figs.map((f) =>
        `${model.padEnd(20)} batch ${String(f.batch).padStart(3)}: ${
          f.tokensPerSecond.toFixed(1).padStart(9)
        } tok/s  efficiency ${f.efficiency.toFixed(2)}`
      )
    ),
    "",
    ...formatSamplerFigures(sampler, samplerVocab, backend.numThreads),
    samplerShare(sampler, stepPaths),
    "",
    ...formatStepPaths("synthetic FP8 (8 × 2048/7168, vocab 8,192)", stepPaths),
    "",
    `EAGLE speculation, k = 3, ${
      values["spec-model"]
        ? `${values["spec-model"]} (its held conversations when it ships held.json)`
        : "tiny fixture with a random draft (accepts ~nothing: speedup < 1)"
    }`,
    ...speculation.map((f) =>
      `batch ${String(f.batch).padStart(3)}: plain ${f.plainTokensPerSecond.toFixed(1).padStart(8)} tok/s  spec ${
        f.specTokensPerSecond.toFixed(1).padStart(8)
      } tok/s  ` +
      `speedup ${f.speedup.toFixed(2)}  tokens/target step ${f.tokensPerTargetStep.toFixed(2)}  draft cost ${
        (100 * f.draftCostFraction).toFixed(0)
      }% of target`
    ),
  ];
  return lines.join("\n");
}

/** The native sampler's time for a batch of 64 rows at vocab 131,072 against a batch-64 step (target: < 5 %). */
function samplerShare(sampler: SamplerFigure[], steps: StepPathFigure[]): string {
  const nucleus = sampler.find((f) => f.setting.startsWith("temperature 0.7"));
  const step = steps.find((f) => f.batch === 64 && f.path.startsWith("after"));
  if (!nucleus || !step) return "";
  const rowsMs = nucleus.nativeBatch[0] * 64;
  return `native sampler, 64 rows at vocab 131,072 (temperature 0.7, top-p 0.95): ${rowsMs.toFixed(1)} ms = ${
    (100 * rowsMs / step.stepMs[0]).toFixed(1)
  } % of a batch-64 step on the synthetic FP8 model (${step.stepMs[0].toFixed(1)} ms; target < 5 %)`;
}
