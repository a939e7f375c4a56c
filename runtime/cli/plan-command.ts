// `gust plan`: will this model fit these GPUs, and with how much context? Reads config files and
// safetensors headers only (no tensor data, no GPU), and prints per rank the weight bytes, the activation
// workspace, the KV bytes per token and the tokens of KV that fit; or why it does not fit and what would.
import { TensorParallelError } from "../parallel/layout.ts";
import { defaultPlanOptions, type KvCacheDtype, planMemory, type PlanOptions } from "../plan/memory-plan.ts";
import { type ReadPlanInputs, readPlanInputs } from "../plan/plan-inputs.ts";
import { alternatives, formatPlan } from "../plan/plan-report.ts";
import { parseFlags, parseFloatArg, parseIntArg, UsageError } from "./usage-error.ts";

export const planUsage = `gust plan --model DIR --gpus N --gpu-memory GiB [--kv-cache-dtype auto|f32|bf16|fp8]
          [--max-model-len L] [--gpu-memory-utilization F] [--draft DIR] [--text-only]
          [--max-num-seqs N] [--max-batched-tokens N] [--json]`;

/** "80" and "80GiB" are GiB; "80GB" is 80·10^9 bytes. */
export function parseGpuMemory(raw: string | undefined): number {
  if (raw === undefined) {
    throw new UsageError(`--gpu-memory GiB is required (e.g. 80 for an H100)\nusage: ${planUsage}`);
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*(GiB|GB)?\s*$/i.exec(raw);
  const value = m ? Number(m[1]) : NaN;
  if (!m || !(value > 0)) {
    throw new UsageError(`--gpu-memory must be a positive size in GiB (80, 80GiB) or GB (80GB), got "${raw}"`);
  }
  return m[2]?.toLowerCase() === "gb" ? value * 1e9 : value * 2 ** 30;
}

function parseKvDtype(raw: string | undefined): KvCacheDtype {
  const value = raw ?? "auto";
  if (value !== "auto" && value !== "f32" && value !== "bf16" && value !== "fp8") {
    throw new UsageError(`--kv-cache-dtype must be auto, f32, bf16 or fp8, got "${raw}"`);
  }
  return value;
}

function header(inputs: ReadPlanInputs): string {
  const c = inputs.text;
  const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;
  const lines = [
    `model: ${inputs.model.dir} (${inputs.model.layout} layout): ${c.numLayers} layers, hidden ${c.hiddenSize}, ` +
    `${c.numHeads}/${c.numKvHeads} heads × ${c.headDim}, MLP ${c.intermediateSize}, vocab ${c.vocabSize}, ` +
    `${c.quantization ? "FP8 E4M3 linears" : "unquantized linears"}` +
    (inputs.vision ? `, vision tower ${inputs.vision.numLayers} layers` : ""),
  ];
  for (const ck of inputs.checkpoints) {
    const skipped = ck.notLoaded.count > 0
      ? `; ${ck.notLoaded.count} tensors (${gib(ck.notLoaded.bytes)}) are not loaded by gust`
      : "";
    lines.push(`checkpoint ${ck.dir}: ${ck.tensorCount} tensors, ${gib(ck.totalBytes)} (read from headers)${skipped}`);
  }
  return lines.join("\n");
}

export async function planCommand(argv: string[]): Promise<string> {
  const values = parseFlags(argv, {
    model: { type: "string" },
    gpus: { type: "string" },
    "gpu-memory": { type: "string" },
    "gpu-memory-utilization": { type: "string" },
    "kv-cache-dtype": { type: "string" },
    "max-model-len": { type: "string" },
    "max-num-seqs": { type: "string" },
    "max-batched-tokens": { type: "string" },
    draft: { type: "string" },
    "text-only": { type: "boolean" },
    json: { type: "boolean" },
  }, planUsage);
  if (!values.model) throw new UsageError(`--model DIR is required\nusage: ${planUsage}`);
  const utilization = parseFloatArg("gpu-memory-utilization", values["gpu-memory-utilization"], 0.9);
  if (!(utilization > 0 && utilization <= 1)) throw new UsageError("--gpu-memory-utilization must be in (0, 1]");
  const options: PlanOptions = {
    ...defaultPlanOptions,
    tpSize: parseIntArg("gpus", values.gpus, 1, 1),
    gpuMemoryBytes: parseGpuMemory(values["gpu-memory"]),
    utilization,
    kvCacheDtype: parseKvDtype(values["kv-cache-dtype"]),
    maxModelLen: values["max-model-len"] === undefined
      ? undefined
      : parseIntArg("max-model-len", values["max-model-len"], 0, 1),
    maxNumSeqs: parseIntArg("max-num-seqs", values["max-num-seqs"], defaultPlanOptions.maxNumSeqs, 1),
    maxBatchedTokens: parseIntArg(
      "max-batched-tokens",
      values["max-batched-tokens"],
      defaultPlanOptions.maxBatchedTokens,
      1,
    ),
    textOnly: values["text-only"] ?? false,
  };
  const inputs = readPlanInputs(values.model, values.draft);
  if (options.maxModelLen !== undefined && options.maxModelLen > inputs.text.maxPositions) {
    throw new UsageError(
      `--max-model-len ${options.maxModelLen} exceeds the model's context of ${inputs.text.maxPositions}`,
    );
  }
  let plan;
  try {
    plan = planMemory(inputs, options);
  } catch (err) {
    if (err instanceof TensorParallelError) throw new UsageError(`--gpus ${options.tpSize}: ${err.message}`);
    throw err;
  }
  const found = plan.fits ? [] : alternatives(inputs, options);
  if (values.json) {
    const summarize = (p: typeof plan) => ({
      tpSize: p.options.tpSize,
      fits: p.fits,
      reason: p.reason,
      poolTokens: p.poolTokens,
      contextTokens: p.contextTokens,
    });
    return JSON.stringify({
      ...summarize(plan),
      layout: plan.layout,
      ranks: plan.ranks,
      alternatives: found.map((a) => ({ change: a.change, ...summarize(a.plan) })),
    });
  }
  return `${header(inputs)}\n${formatPlan(inputs, plan, found)}`;
}
