// gust_fill_random (kernels/fill_core.h) on the CPU library against its TypeScript spec (runtime/weights/
// random-fill.ts), bit for bit: e4m3, bf16 and f32, at an index range that crosses 2^32 (the hash's high word),
// at a byte offset into a buffer, and the e4m3 codes never NaN. The CUDA twin is held to the CPU in test/gpu.
import { describe, expect, it } from "vitest";
import { createBackend, DType, type RandomFill } from "../../ffi/backend.ts";
import { e4m3FromHash, fillHash, randomFillBytes, uniformFromFillHash } from "../../runtime/weights/random-fill.ts";
import { counterHash } from "../../runtime/sampling/counter-hash.ts";

const backend = createBackend("cpu");

function onCpu(f: RandomFill, byteOffset = 0): Uint8Array {
  const width = f.dtype === DType.F8_E4M3 ? 1 : f.dtype === DType.BF16 ? 2 : 4;
  using buffer = backend.alloc(byteOffset + f.count * width);
  backend.fillRandom(buffer, f, byteOffset);
  return backend.download(buffer, new Uint8Array(f.count * width), byteOffset);
}

const base = { seed: 7, tensorId: 0x1234abcd, firstIndex: 0, offset: 0, scale: 1 };

describe("gust_fill_random equals its TypeScript spec", () => {
  it("the worked examples of the rule", () => {
    expect(e4m3FromHash(0x80000025)).toBe(0xa5);
    expect(uniformFromFillHash(0xffffff00)).toBe(1 - 2 ** -23);
    expect(uniformFromFillHash(0)).toBe(-1);
    // the hash is the sampler's counter hash with the tensor id in the step word (counter-hash.ts example)
    expect(fillHash(42, 0, 1)).toBe(0x6ac7e06f);
    expect(fillHash(42, 3, 2 ** 32 + 5)).toBe(counterHash(42, 3, 1, 5));
  });

  for (const [label, dtype] of [["e4m3", DType.F8_E4M3], ["bf16", DType.BF16], ["f32", DType.F32]] as const) {
    it(`${label}: 70,001 elements from index 0, and a run across index 2^32`, () => {
      for (
        const f of [
          { ...base, dtype, count: 70_001, offset: 1, scale: 0.125 },
          { ...base, dtype, count: 1000, firstIndex: 2 ** 32 - 500, offset: -0.5, scale: 3 },
          { ...base, dtype, count: 5000, offset: 0.1, scale: Math.sqrt(3 / 12288) }, // neither exact in f32
        ]
      ) {
        expect(Buffer.from(onCpu(f)).equals(Buffer.from(randomFillBytes(f)))).toBe(true);
      }
    });
  }

  it("fills at a byte offset and leaves the bytes before it alone; another seed or tensor id differs", () => {
    const f = { ...base, dtype: DType.BF16, count: 33 };
    expect(Buffer.from(onCpu(f, 64)).equals(Buffer.from(randomFillBytes(f)))).toBe(true);
    using buffer = backend.alloc(64 + 66);
    backend.fillRandom(buffer, f, 64);
    expect(backend.download(buffer, new Uint8Array(64)).every((b) => b === 0)).toBe(true);
    const a = randomFillBytes(f);
    expect(Buffer.from(randomFillBytes({ ...f, seed: 8 })).equals(Buffer.from(a))).toBe(false);
    expect(Buffer.from(randomFillBytes({ ...f, tensorId: 5 })).equals(Buffer.from(a))).toBe(false);
  });

  it("e4m3 codes are never NaN, cover both signs and all 64 magnitudes", () => {
    const codes = onCpu({ ...base, dtype: DType.F8_E4M3, count: 1 << 16 });
    expect(codes.some((c) => (c & 0x7f) === 0x7f)).toBe(false);
    expect(new Set(codes).size).toBe(128);
  });

  it("refuses a dtype it cannot make and a fill past the buffer's end", () => {
    using buffer = backend.alloc(16);
    expect(() => backend.fillRandom(buffer, { ...base, dtype: DType.I32, count: 4 })).toThrow(/dtype 4 must be f32/);
    expect(() => backend.fillRandom(buffer, { ...base, dtype: DType.F32, count: 5 })).toThrow(/overflow a 16-byte/);
  });
});
