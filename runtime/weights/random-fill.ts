// The TypeScript spec of gust_fill_random (kernels/fill_core.h): element i of random tensor (seed, tensorId) is a
// pure function of the three, so a tensor made on a GPU, on the CPU or here has the same bytes.
// Hash: the sampler's counter hash of [seed, tensorId, i / 2^32, i mod 2^32] (runtime/sampling/counter-hash.ts).
// e4m3 code = (bit 31 of h) << 7 | (h & 0x3F): random sign, exponent field 0..7 (|value| ≤ 1.875, never NaN).
// Floats: u = (h >>> 8) · 2^−23 − 1 in [−1, 1), value = f32(f32(scale · u) + offset), bf16 by round to nearest even.
// Example: h = 0x80000025 → e4m3 0xA5 = −0.203125; h = 0xFFFFFF00 → u = 1 − 2^−23.
import { DType, type RandomFill } from "../../ffi/backend.ts";
import { counterHash, murmur3Words } from "../sampling/counter-hash.ts";

const TWO_POW_32 = 4294967296;

export function fillHash(seed: number, tensorId: number, index: number): number {
  return counterHash(seed, tensorId, Math.floor(index / TWO_POW_32), index >>> 0);
}

export function e4m3FromHash(h: number): number {
  return ((h >>> 24) & 0x80) | (h & 0x3f);
}

export function uniformFromFillHash(h: number): number {
  return Math.fround((h >>> 8) / 8388608 - 1);
}

const f32 = new Float32Array(1), u32 = new Uint32Array(f32.buffer);

/** float → bf16 bits, round to nearest even (kernels/bf16.h; the values here are never NaN). */
function bf16Bits(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/** The bytes gust_fill_random writes for `f` (little-endian, as the device holds them). */
export function randomFillBytes(f: RandomFill): Uint8Array {
  const out = new Uint8Array(f.count * (f.dtype === DType.F8_E4M3 ? 1 : f.dtype === DType.BF16 ? 2 : 4));
  const view = new DataView(out.buffer);
  const scale = Math.fround(f.scale), offset = Math.fround(f.offset); // the ABI passes them as f32
  for (let i = 0; i < f.count; i++) {
    const h = fillHash(f.seed, f.tensorId, f.firstIndex + i);
    if (f.dtype === DType.F8_E4M3) {
      out[i] = e4m3FromHash(h);
      continue;
    }
    const value = Math.fround(Math.fround(scale * uniformFromFillHash(h)) + offset);
    if (f.dtype === DType.BF16) view.setUint16(2 * i, bf16Bits(value), true);
    else view.setFloat32(4 * i, value, true);
  }
  return out;
}

/** A tensor's id from its name (MurmurHash3 of its UTF-16 code units), so ids do not depend on load order. */
export function tensorIdOf(name: string): number {
  return murmur3Words(Array.from(name, (c) => c.charCodeAt(0)));
}
