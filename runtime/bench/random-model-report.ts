// The figures of `gust bench --random-model` beside their ceilings, and how they print. Decode: tokens/s of the
// whole model (scaled from the layers run when not all fit) beside the roofline of bytes streamed per step over the
// device's bandwidth (measured by a read probe, and the datasheet figure when given). Prefill: tokens/s beside the
// FLOP floor at the datasheet FP8 peak (linears) and half of it (attention, which runs in 16-bit or f32 here).
import type { TextConfig } from "../config/text-config.ts";
import { decodeStepBytes, prefillFlops, scaleToLayers } from "./random-model-ceilings.ts";
import type { PhaseRun } from "./random-model-phase.ts";
import type { KvCacheDtype } from "../model/kv-cache.ts";

export interface Ceilings {
  /** Bytes/s a read probe measured on this device. */
  measuredBandwidth: number;
  /** Datasheet bytes/s and FP8 FLOP/s (from the command line; absent when not given). */
  peakBandwidth?: number;
  peakFp8?: number;
}

export interface PhaseFigure {
  phase: "decode" | "prefill";
  batch: number;
  /** Decode: the prompt of each sequence; prefill: the prompt. */
  tokens: number;
  layersRun: number;
  atLayers: PhaseRun;
  baseline?: { layers: number; run: PhaseRun };
  /** Decode: ms per step; prefill: ms for the prompt; of all the model's layers (scaled when not all ran). */
  fullModelMs: number;
  fullModelTokensPerSecond: number;
  /** Decode: roofline tokens/s at the measured and datasheet bandwidth; prefill: tokens/s at the FLOP floor. */
  ceiling: { measured?: number; datasheet?: number };
}

/** What one phase ran: its shape, the layers it ran on, and its runs (a base run too when not all ran). */
export interface PhaseRuns {
  phase: "decode" | "prefill";
  batch: number;
  tokens: number;
  decodeSteps: number;
  dtype: KvCacheDtype;
  layersRun: number;
  atLayers: PhaseRun;
  /** The run the scaling to all layers starts from (absent when all layers ran, or --unscaled). */
  baseline?: { layers: number; run: PhaseRun };
}

export function phaseFigure(c: TextConfig, ceilings: Ceilings, r: PhaseRuns): PhaseFigure {
  const { phase, batch, tokens, decodeSteps, dtype, layersRun, atLayers, baseline } = r;
  // unscaled runs (--unscaled) report the layers that ran
  // more layers never run faster: a base run slower than the layers run (noise) leaves t(L) as the lower bound
  const fullModelMs = baseline
    ? Math.max(
      atLayers.ms[0],
      scaleToLayers(atLayers.ms[0], baseline.run.ms[0], layersRun, baseline.layers, c.numLayers),
    )
    : atLayers.ms[0];
  const ceilingLayers = baseline ? c.numLayers : layersRun; // the layers the figure stands for
  const produced = phase === "decode" ? batch : tokens;
  const ceiling: PhaseFigure["ceiling"] = {};
  if (phase === "decode") {
    const bytes = decodeStepBytes(c, ceilingLayers, batch, tokens + decodeSteps / 2 + 1, dtype);
    ceiling.measured = (batch * ceilings.measuredBandwidth) / bytes;
    if (ceilings.peakBandwidth) ceiling.datasheet = (batch * ceilings.peakBandwidth) / bytes;
  } else if (ceilings.peakFp8) {
    const f = prefillFlops(c, ceilingLayers, tokens);
    ceiling.datasheet = tokens / (f.linear / ceilings.peakFp8 + f.attention / (ceilings.peakFp8 / 2));
  }
  return {
    phase,
    batch,
    tokens,
    layersRun,
    atLayers,
    baseline,
    fullModelMs,
    fullModelTokensPerSecond: (produced * 1000) / fullModelMs,
    ceiling,
  };
}

/** Three significant digits at most, never rounded to 0. Example: 0.2431 → "0.243", 1552.3 → "1552". */
const fixed = (x: number) => x.toFixed(Math.max(0, Math.min(3, 2 - Math.floor(Math.log10(Math.abs(x) || 1)))));
const pct = (x: number, of?: number) => (of ? ` (${((100 * x) / of).toFixed(0)} %)` : "");

export function formatPhase(f: PhaseFigure, totalLayers: number): string {
  const [med, lo, hi] = f.atLayers.ms, tps = f.fullModelTokensPerSecond, host = (100 * f.atLayers.hostShare).toFixed(1);
  const scaled = !f.baseline
    ? f.layersRun < totalLayers ? ` [${f.layersRun} of ${totalLayers} layers, not scaled]` : ""
    : ` [${f.layersRun} layers ran: ${fixed(med)} ms; ${f.baseline.layers} ran: ${fixed(f.baseline.run.ms[0])} ms; ` +
      `scaled to ${totalLayers}]`;
  const ceiling = [
    f.ceiling.measured && `${fixed(f.ceiling.measured)} at the measured bandwidth${pct(tps, f.ceiling.measured)}`,
    f.ceiling.datasheet && `${fixed(f.ceiling.datasheet)} at the datasheet${pct(tps, f.ceiling.datasheet)}`,
  ].filter(Boolean).join(", ");
  if (f.phase === "prefill") {
    return `prefill ${String(f.tokens).padStart(6)} tokens: ${fixed(tps).padStart(8)} tok/s, ` +
      `${fixed(f.fullModelMs / 1000)} s to the first token${scaled}; ` +
      `ceiling ${ceiling || "(give --peak-fp8-tflops)"}; host ${host} %`;
  }
  return `decode batch ${String(f.batch).padStart(3)} after ${f.tokens}: ${fixed(tps).padStart(8)} tok/s, ` +
    `step ${fixed(f.fullModelMs)} ms (median; ${fixed(lo)}–${fixed(hi)} at the layers run)${scaled}; ` +
    `roofline ${ceiling}; host ${host} % of the step, CPU ${fixed(f.atLayers.cpuMsPerStep)} ms/step; ` +
    `prompts prefilled at ${fixed(f.atLayers.promptTokensPerSecond)} tok/s`;
}
