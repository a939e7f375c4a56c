// Deterministic random test data.
import { Rng } from "../../runtime/sampling/rng.ts";
import type { WeightKind } from "./reference-ops.ts";

export function randomF32(rng: Rng, n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => (rng.nextFloat() * 2 - 1) * scale);
}

export function randomInt(rng: Rng, lo: number, hi: number): number {
  return lo + Math.floor(rng.nextFloat() * (hi - lo + 1));
}

/** Random raw weight bytes of a kind: f16/bf16 with moderate exponents, fp8 without NaN codes. */
export function randomWeights(rng: Rng, kind: WeightKind, n: number): Uint8Array {
  if (kind === "f32") return new Uint8Array(randomF32(rng, n).buffer);
  if (kind === "fp8") {
    return Uint8Array.from({ length: n }, () => {
      const c = rng.nextU32() & 0xff;
      return (c & 0x7f) === 0x7f ? c - 1 : c;
    });
  }
  const out = new Uint16Array(n);
  const f = new Float32Array(1), u = new Uint32Array(f.buffer);
  for (let i = 0; i < n; i++) {
    f[0] = rng.nextFloat() * 2 - 1;
    if (kind === "bf16") out[i] = u[0] >>> 16;
    else {
      const sign = f[0] < 0 ? 0x8000 : 0, exp = 8 + (rng.nextU32() % 8), mant = rng.nextU32() & 0x3ff;
      out[i] = sign | (exp << 10) | mant;
    }
  }
  return new Uint8Array(out.buffer);
}
