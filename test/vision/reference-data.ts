// Readers for test/vision/data (made by tools/vision/make_resize_reference.py) and the input generator that
// mirrors the script's, so the inputs need not be stored.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../helpers/fixtures.ts";

export const dataDir = join(repoRoot, "test", "vision", "data");

export interface ResizeCase {
  src: [number, number];
  dst: [number, number];
  kind: "noise" | "ramp" | "checker";
  seed: number;
  mode: "full" | "sampled";
  offset: number;
  count: number;
}

export interface PipelineCase {
  name: string;
  mode: string;
  src: [number, number];
  dst: [number, number];
}

export interface Manifest {
  opencv: string;
  pillow: string;
  samples: number;
  cases: ResizeCase[];
  pipeline: PipelineCase[];
}

export function loadManifest(): Manifest {
  return JSON.parse(readFileSync(join(dataDir, "resize-reference.json"), "utf8"));
}

export function loadReference(): Float32Array {
  const b = readFileSync(join(dataDir, "resize-reference.f32"));
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

export function readPipeline(c: PipelineCase): { file: Uint8Array; expected: Float32Array } {
  const file = new Uint8Array(readFileSync(join(dataDir, "pipeline", c.name)));
  const b = readFileSync(join(dataDir, "pipeline", c.name + ".f32"));
  return { file, expected: new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)) };
}

/** The script's hash32: 32-bit multiply-xorshift mix of (index, seed). */
export function hash32(i: number, seed: number): number {
  let v = (Math.imul(i, 2654435761 | 0) + ((Math.imul(seed, 0x9e3779b9 | 0) + 1) | 0)) >>> 0;
  v ^= v >>> 16;
  v = Math.imul(v, 0x7feb352d) >>> 0;
  v ^= v >>> 15;
  v = Math.imul(v, 0x846ca68b | 0) >>> 0;
  v ^= v >>> 16;
  return v >>> 0;
}

/** The script's make_input: uint8 HxWx3. */
export function makeInput(w: number, h: number, kind: ResizeCase["kind"], seed: number): Uint8Array {
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 3;
      if (kind === "noise") {
        for (let c = 0; c < 3; c++) out[o + c] = hash32(o + c, seed) >>> 24;
      } else if (kind === "ramp") {
        out[o] = Math.floor((x * 255) / Math.max(w - 1, 1));
        out[o + 1] = Math.floor((y * 255) / Math.max(h - 1, 1));
        out[o + 2] = Math.floor(((x + y) * 255) / Math.max(w + h - 2, 1));
      } else {
        const v = ((Math.floor(x / 3) + Math.floor(y / 2)) % 2) * 255;
        out[o] = v;
        out[o + 1] = 255 - v;
        out[o + 2] = v >> 1;
      }
    }
  }
  return out;
}

/** Positions of the stored values of a sampled case (the script's sample_positions). */
export function samplePositions(nValues: number, seed: number, samples: number): number[] {
  const out: number[] = [];
  for (let k = 0; k < samples; k++) out.push(hash32(k, (seed ^ 0x5bd1e995) >>> 0) % nValues);
  return out;
}
