// gust_fill_random on CUDA against the CPU library (itself held to the TypeScript spec in test/native), byte for
// byte: every dtype, a run across index 2^32, at a byte offset, and one tensor of 2^24 elements (many blocks).
import { describe, expect, it } from "vitest";
import { type Backend, DType, type RandomFill } from "../../ffi/backend.ts";
import { cpu, gpuOrSkip } from "./parity.ts";

const gpu = gpuOrSkip("fill");

function fillOn(b: Backend, f: RandomFill, byteOffset: number): Uint8Array {
  const width = f.dtype === DType.F8_E4M3 ? 1 : f.dtype === DType.BF16 ? 2 : 4;
  using buffer = b.alloc(byteOffset + f.count * width);
  b.fillRandom(buffer, f, byteOffset);
  return b.download(buffer, new Uint8Array(f.count * width), byteOffset);
}

describe.skipIf(!gpu)("CUDA gust_fill_random matches the CPU library", () => {
  const base = { seed: 11, tensorId: 0x5eed, firstIndex: 0, offset: 1, scale: 0.125 };
  for (const dtype of [DType.F8_E4M3, DType.BF16, DType.F32]) {
    it(`dtype ${dtype}`, () => {
      for (
        const [f, at] of [
          [{ ...base, dtype, count: 1 << 24 }, 0],
          [{ ...base, dtype, count: 4099, firstIndex: 2 ** 32 - 2000, offset: -0.25, scale: 3 }, 64],
        ] as const
      ) {
        expect(Buffer.from(fillOn(gpu!, f, at)).equals(Buffer.from(fillOn(cpu, f, at)))).toBe(true);
      }
    });
  }
});
