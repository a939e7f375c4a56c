// The verdict of `gust plan` in words: the per-rank table, and when the model does not fit, the nearest
// settings that would (a larger tensor-parallel size first, then dropping the vision tower, a shorter
// --max-model-len, a higher utilization).
import { validTpSizes } from "../parallel/layout.ts";
import { type MemoryPlan, type PlanInputs, planMemory, type PlanOptions } from "./memory-plan.ts";

export interface Alternative {
  /** The flags that differ, e.g. "--gpus 4" or "--text-only". */
  change: string;
  plan: MemoryPlan;
}

/** Settings near `o` that fit, when `o` itself does not. */
export function alternatives(inputs: PlanInputs, o: PlanOptions, maxTpSize = 64): Alternative[] {
  const found: Alternative[] = [];
  const tryPlan = (change: string, options: PlanOptions): boolean => {
    const plan = planMemory(inputs, options);
    if (plan.fits) found.push({ change, plan });
    return plan.fits;
  };
  let larger = 0;
  for (const n of validTpSizes(inputs.text, maxTpSize)) {
    if (n > o.tpSize && larger < 3 && tryPlan(`--gpus ${n}`, { ...o, tpSize: n })) larger++;
  }
  if (inputs.vision && !o.textOnly) tryPlan("--text-only", { ...o, textOnly: true });
  const here = planMemory(inputs, o);
  if (o.maxModelLen !== undefined && here.poolTokens >= o.blockSize) {
    tryPlan(`--max-model-len ${here.poolTokens}`, { ...o, maxModelLen: here.poolTokens });
  }
  if (o.utilization < 0.95) tryPlan("--gpu-memory-utilization 0.95", { ...o, utilization: 0.95 });
  return found;
}

const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(2)} GiB`;
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const count = (n: number) => n.toLocaleString("en-US");
const pad = (s: string, n: number) => s.padStart(n);

export function formatPlan(inputs: PlanInputs, plan: MemoryPlan, found: Alternative[]): string {
  const c = inputs.text, o = plan.options, l = plan.layout;
  const lines: string[] = [];
  const gpus = `${o.tpSize} GPU${o.tpSize > 1 ? "s" : ""} of ${gib(o.gpuMemoryBytes)}`;
  lines.push(
    `${gpus}, utilization ${o.utilization} → budget ${gib(plan.ranks[0].budgetBytes)} per GPU; ` +
      `KV cache ${o.kvCacheDtype === "auto" ? "bf16 (auto)" : o.kvCacheDtype}; step ≤ ${count(o.maxBatchedTokens)} ` +
      `tokens and ≤ ${o.maxNumSeqs} sequences; blocks of ${o.blockSize} tokens`,
  );
  const kvSplit = l.kvReplicas > 1 ? `replicated on ${l.kvReplicas} ranks each` : "split";
  lines.push(
    `per rank: ${l.headsPerRank} of ${c.numHeads} query heads, ${l.kvHeadsPerRank} of ${c.numKvHeads} KV heads ` +
      `(${kvSplit}), MLP ${count(l.intermediatePerRank)} of ${count(c.intermediateSize)}, lm_head ≤ ` +
      `${count(l.vocabPerRank)} of ${count(c.vocabSize)} rows` +
      (inputs.vision && !o.textOnly ? "; vision tower on rank 0" : ""),
  );
  lines.push("rank     weights      tables   workspace    KV/token  free for KV      tokens");
  for (const r of plan.ranks) {
    lines.push(
      `${pad(String(r.rank), 4)} ${pad(gib(r.weightBytes), 11)} ${pad(gib(r.fixedBytes), 11)} ` +
        `${pad(gib(r.workspace.total), 11)} ${pad(kib(r.kvBytesPerToken), 11)} ${pad(gib(r.freeBytes), 12)} ` +
        `${pad(count(r.poolTokens), 11)}`,
    );
  }
  const w = plan.ranks[0].workspace;
  const activations = `activations ${gib(w.text)} (f32)`;
  lines.push(
    "workspace of rank 0: " +
      (w.vision
        ? `the larger of ${activations} and one vision-tower call ${gib(w.vision)} (they take turns)`
        : activations) +
      ` + FP8 scratch ${gib(w.scratch)}` + (w.draft ? ` + draft ${gib(w.draft)}` : ""),
  );
  const headroom = Math.round((1 - o.utilization) * 100);
  lines.push(
    `accounting: weights = this rank's slices; tables = RoPE cos/sin (f32); workspace = one step's f32 ` +
      `activations (or one vision-tower call on the vision rank, between steps), FP8 scratch, the draft's; the ${headroom} % outside ` +
      `the budget is headroom for the CUDA context, NCCL buffers and fragmentation`,
  );
  if (plan.fits) {
    const served = plan.contextTokens < c.maxPositions
      ? ` (the model's context is ${count(c.maxPositions)}; the runtime serves what the pool holds)`
      : "";
    lines.push(
      `fits: KV pool of ${count(plan.poolTokens)} tokens, context ${count(plan.contextTokens)} tokens${served}`,
    );
    const v = o.textOnly ? null : inputs.vision;
    if (v) {
      // a full-size image is side rows of side [IMG] tokens, each row closed by [IMG_BREAK] or [IMG_END]
      const side = v.maxPatchesPerSide / v.spatialMergeSize, imageTokens = side * (side + 1);
      if (imageTokens > plan.contextTokens) {
        lines.push(
          `note: one ${v.imageSize}×${v.imageSize} image takes ${count(imageTokens)} tokens, more than this context; ` +
            `smaller images fit (one token per ${v.patchSize * v.spatialMergeSize}×` +
            `${v.patchSize * v.spatialMergeSize} pixels)`,
        );
      }
    }
    return lines.join("\n");
  }
  lines.push(`does not fit: ${plan.reason}`);
  const larger = found.filter((a) => a.change.startsWith("--gpus "));
  if (larger.length > 0) {
    lines.push(
      `needs TP >= ${larger[0].plan.options.tpSize} on ${gib(o.gpuMemoryBytes)} GPUs (` +
        larger.map((a) => `TP ${a.plan.options.tpSize}: context ${count(a.plan.contextTokens)}`).join("; ") + ")",
    );
  } else {
    lines.push(`no tensor-parallel size up to 64 fits on ${gib(o.gpuMemoryBytes)} GPUs`);
  }
  for (const a of found.filter((a) => !a.change.startsWith("--gpus "))) {
    lines.push(`or ${a.change}: context ${count(a.plan.contextTokens)} tokens`);
  }
  return lines.join("\n");
}
