// CPU decode throughput: tokens/s per model, weight bytes streamed per second, and that rate as a
// share of this machine's measured read bandwidth (the roofline for batch-1 decode).
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Backend } from "../../ffi/backend.ts";
import { loadModel } from "../model/load-model.ts";
import { SingleSequence } from "../model/single-sequence.ts";
import { argmax } from "../sampling/basic.ts";
import { type SyntheticShape, writeSyntheticModel } from "./synthetic-model.ts";

export interface DecodeFigures {
  model: string;
  weightBytes: number;
  tokensPerSecond: number;
  bytesPerSecond: number;
}

/** Best of several full reads of a buffer much larger than the caches, in bytes per second. */
export function measureReadBandwidth(backend: Backend, bytes = 512 * 2 ** 20, repeats = 5): number {
  using buffer = backend.alloc(bytes);
  backend.readProbe(buffer); // first touch faults the pages in
  let best = 0;
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    backend.readProbe(buffer);
    best = Math.max(best, bytes / ((performance.now() - start) / 1000));
  }
  return best;
}

export function measureDecode(backend: Backend, dir: string, label: string, decodeTokens: number): DecodeFigures {
  const promptTokens = 16;
  const warmupTokens = 2;
  const loaded = loadModel(dir, backend, { maxPositions: promptTokens + warmupTokens + decodeTokens });
  // a small model's context bounds the run (the tiny fixtures hold 256 positions)
  const numTokens = Math.min(decodeTokens, loaded.model.maxPositions - promptTokens - warmupTokens);
  const seq = new SingleSequence(backend, loaded.model, promptTokens + warmupTokens + numTokens);
  try {
    const prompt = Array.from({ length: promptTokens }, (_, i) => (i * 37 + 5) % loaded.config.text.vocabSize);
    let logits = seq.append(prompt).logits;
    for (let i = 0; i < warmupTokens; i++) logits = seq.append([argmax(logits)]).logits;
    const start = performance.now();
    for (let i = 0; i < numTokens; i++) logits = seq.append([argmax(logits)]).logits;
    const seconds = (performance.now() - start) / 1000;
    const tokensPerSecond = numTokens / seconds;
    return {
      model: label,
      weightBytes: loaded.weights.decoderBytes,
      tokensPerSecond,
      bytesPerSecond: tokensPerSecond * loaded.weights.decoderBytes,
    };
  } finally {
    seq.dispose();
    loaded.dispose();
  }
}

export const syntheticFp8Shape: SyntheticShape = {
  hidden: 2048,
  intermediate: 7168,
  layers: 8,
  heads: 16,
  kvHeads: 4,
  headDim: 128,
  vocab: 8192,
  maxPositions: 4096,
  fp8: true,
};

/** Writes the synthetic FP8 checkpoint once into `cacheDir` and returns its folder. */
export function syntheticModelDir(cacheDir: string): string {
  const s = syntheticFp8Shape;
  const dir = join(cacheDir, `synthetic-fp8-h${s.hidden}-f${s.intermediate}-l${s.layers}`);
  if (!existsSync(join(dir, "config.json"))) writeSyntheticModel(dir, s);
  return dir;
}
