// The sm_80 FP8 conversion (kernels/e4m3.h, used by the CUDA linears on A100s) checked on the CPU for all
// 256 e4m3 codes: the f16 it builds with __byte_perm, masks and a shift is the code's value × 2^-8 exactly,
// against both the TypeScript reference and the CPU library's dequantization table (through ffi).
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createBackend } from "../../ffi/backend.ts";
import { repoRoot } from "../helpers/fixtures.ts";
import { e4m3Value, f16ToF32 } from "../helpers/reference-ops.ts";

const scratch = mkdtempSync(join(tmpdir(), "gust-e4m3-sm80-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function runHarness(): string[] {
  const exe = join(scratch, "e4m3-sm80");
  const cc = process.env.CC ?? "cc";
  const source = join(repoRoot, "test", "native", "e4m3-sm80.c");
  execFileSync(cc, ["-O2", "-std=c11", "-Wall", "-Werror", "-I", join(repoRoot, "kernels"), "-o", exe, source]);
  return execFileSync(exe, { encoding: "utf8" }).trim().split("\n");
}

describe("e4m3 → f16 by integer ops (sm_80)", () => {
  const lines = runHarness();
  const halves = lines.slice(0, 256).map((l) => l.split(" ").map(Number));
  const isNan = (c: number) => (c & 0x7f) === 0x7f;

  it("gives value × 2^-8 for every non-NaN code, in both halves of the pair", () => {
    const backend = createBackend("cpu");
    using codes = backend.fromHost(Uint8Array.from({ length: 256 }, (_, i) => i));
    using y = backend.alloc(256 * 4);
    backend.fp8Dequantize(y, codes, 256, 1);
    const table = backend.download(y, new Float32Array(256));
    let checked = 0;
    for (const [c, low, high] of halves) {
      for (const [code, bits] of [[c, low], [255 - c, high]]) {
        if (isNan(code)) continue;
        const value = f16ToF32(bits) * 256;
        expect(Object.is(value, e4m3Value(code)), `code 0x${code.toString(16)}: f16 0x${bits.toString(16)}`).toBe(true);
        expect(Object.is(value, table[code]), `code 0x${code.toString(16)} against the CPU table`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBe(2 * 254);
    // spot values: 448 → 1.75, the smallest subnormal 2^-9 → 2^-17 (an f16 subnormal), −0 → −0
    expect(halves[0x7e][1]).toBe(0x3f00);
    expect(halves[0x01][1]).toBe(0x0080); // 128 · 2^-24
    expect(halves[0x80][1]).toBe(0x8000);
  });

  it("maps the NaN codes to ±1.875 (480 · 2^-8), as documented", () => {
    expect(f16ToF32(halves[0x7f][1])).toBe(1.875);
    expect(f16ToF32(halves[0xff][1])).toBe(-1.875);
  });

  it("emulates __byte_perm on the host by its documented selector rule", () => {
    // bytes of y:x are 00 11 22 33 44 55 66 77; selector nibbles pick them low to high, bit 3 ignored
    expect(lines[256]).toBe("perm 33221100 77665544 00112233 11441177");
  });
});
