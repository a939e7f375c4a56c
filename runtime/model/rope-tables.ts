// Rotary tables: YaRN inverse frequencies and the cos/sin tables the RoPE kernel reads, computed in
// f32 the way transformers does (freqs = f32(position · inv_freq), then cos/sin scaled by the
// attention factor), so long positions round exactly as the reference rounds them.
import type { RopeConfig } from "../config/text-config.ts";

const f = Math.fround;

/** Inverse frequencies for head_dim d (d/2 values), following _compute_yarn_parameters. */
export function ropeInverseFrequencies(rope: RopeConfig, headDim: number): Float32Array {
  const half = headDim / 2;
  const inv = new Float32Array(half);
  const posFreq = (i: number) => f(Math.pow(rope.theta, f(f(2 * i) / headDim)));
  if (rope.type === "default") {
    for (let i = 0; i < half; i++) inv[i] = f(1 / posFreq(i));
    return inv;
  }
  const l0 = rope.originalMaxPositions;
  // dimension index where the wavelength equals L0 / rotations: d·ln(L0 / (2π·r)) / (2·ln θ)
  const correction = (rotations: number) =>
    (headDim * Math.log(l0 / (rotations * 2 * Math.PI))) / (2 * Math.log(rope.theta));
  let low = correction(rope.betaFast), high = correction(rope.betaSlow);
  if (rope.truncate) {
    low = Math.floor(low);
    high = Math.ceil(high);
  }
  low = Math.max(low, 0);
  high = Math.min(high, headDim - 1);
  if (low === high) high += 0.001;
  for (let i = 0; i < half; i++) {
    const ramp = f(Math.min(1, Math.max(0, f(f(i - low) / f(high - low)))));
    const extrapolationWeight = f(1 - ramp);
    const pf = posFreq(i);
    const interpolated = f(1 / f(rope.factor * pf));
    const extrapolated = f(1 / pf);
    inv[i] = f(f(interpolated * f(1 - extrapolationWeight)) + f(extrapolated * extrapolationWeight));
  }
  return inv;
}

export interface RopeTables {
  cos: Float32Array;
  sin: Float32Array;
  /** Positions covered: 0 .. length−1. */
  length: number;
}

/** cos/sin for positions [0, length) as [length, head_dim/2] (both halves of a head share them). */
export function buildRopeTables(rope: RopeConfig, headDim: number, length: number): RopeTables {
  const inv = ropeInverseFrequencies(rope, headDim);
  const half = headDim / 2;
  const cos = new Float32Array(length * half), sin = new Float32Array(length * half);
  const factor = f(rope.attentionFactor);
  for (let p = 0; p < length; p++) {
    for (let i = 0; i < half; i++) {
      const angle = f(f(p) * inv[i]);
      cos[p * half + i] = f(f(Math.cos(angle)) * factor);
      sin[p * half + i] = f(f(Math.sin(angle)) * factor);
    }
  }
  return { cos, sin, length };
}
