// The random model (runtime/weights/random-source.ts) runs through the same loader and model code as a checkpoint:
// the tiny preset's weights made by gust_fill_random give logits identical, bit for bit, to the same weights
// written as a safetensors checkpoint (bytes from the TypeScript spec, runtime/weights/random-fill.ts) and loaded
// normally; and its activations stay finite and of moderate size over a prefill and decode.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createBackend } from "../../ffi/backend.ts";
import { randomModelConfig, randomModels } from "../../runtime/bench/random-models.ts";
import { loadModel, loadModelFrom } from "../../runtime/model/load-model.ts";
import { SingleSequence } from "../../runtime/model/single-sequence.ts";
import { randomFillBytes } from "../../runtime/weights/random-fill.ts";
import { RandomSource } from "../../runtime/weights/random-source.ts";
import { type TensorToWrite, writeSafetensors } from "../../runtime/weights/write-safetensors.ts";

const backend = createBackend("cpu");
const scratch = mkdtempSync(join(tmpdir(), "gust-random-model-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The random source's tensors as a Hugging Face checkpoint directory. */
function writeCheckpoint(source: RandomSource, dir: string): void {
  mkdirSync(dir, { recursive: true });
  const tensors: Record<string, TensorToWrite> = {};
  for (const name of source.names()) {
    const info = source.info(name);
    tensors[name] = info.shape.length === 0
      ? { dtype: "F32", shape: [], data: new Uint8Array(new Float32Array([source.scalar(name)]).buffer) }
      : { dtype: info.dtype, shape: info.shape, data: randomFillBytes(source.fillOf(name)) };
  }
  writeSafetensors(join(dir, "model.safetensors"), tensors);
  writeFileSync(join(dir, "config.json"), JSON.stringify(randomModels.tiny));
}

/** Logits of every row of a 20-token prefill, then of three decode steps. */
function logitsOf(model: ReturnType<typeof loadModel>["model"]): Float32Array[] {
  const seq = new SingleSequence(backend, model, 32);
  try {
    const prompt = Array.from({ length: 20 }, (_, i) => (i * 37 + 3) % model.config.vocabSize);
    const out = [seq.append(prompt, { allRows: true }).logits];
    for (const id of [5, 77, 300]) out.push(seq.append([id]).logits);
    return out;
  } finally {
    seq.dispose();
  }
}

describe("random model weights made on the backend", () => {
  it("give the same logits as the same weights loaded from a safetensors checkpoint", () => {
    const config = randomModelConfig("tiny");
    const source = new RandomSource("tiny", config.text, 3);
    const dir = join(scratch, "tiny");
    writeCheckpoint(source, dir);
    const fromDisk = loadModel(dir, backend), fromFill = loadModelFrom(config, source, backend);
    try {
      expect(fromFill.weights.loadedBytes).toBe(fromDisk.weights.loadedBytes);
      const [a, b] = [logitsOf(fromFill.model), logitsOf(fromDisk.model)];
      a.forEach((rows, i) => expect(Buffer.from(rows.buffer).equals(Buffer.from(b[i].buffer)), `call ${i}`).toBe(true));
      // moderate, finite activations: logits of unit size, not all alike
      const all = a.flatMap((r) => Array.from(r)), rms = Math.sqrt(all.reduce((s, x) => s + x * x, 0) / all.length);
      expect(all.every(Number.isFinite)).toBe(true);
      expect(rms).toBeGreaterThan(0.1);
      expect(rms).toBeLessThan(10);
    } finally {
      fromDisk.dispose();
      fromFill.dispose();
    }
  });

  it("another seed gives other weights; a layer count past the config is refused; slicing is refused", () => {
    const config = randomModelConfig("tiny");
    const a = new RandomSource("tiny", config.text, 1), b = new RandomSource("tiny", config.text, 2);
    const name = "lm_head.weight";
    expect(Buffer.from(randomFillBytes(a.fillOf(name))).equals(Buffer.from(randomFillBytes(b.fillOf(name))))).toBe(
      false,
    );
    expect(() => randomModelConfig("tiny", 3)).toThrow(/--layers must be an integer from 1 to 2 for tiny/);
    expect(() => randomModelConfig("nope")).toThrow(/--random-model must be one of mistral-medium-3.5, tiny/);
    expect(() => a.place(backend, name, (x) => x)).toThrow(/cannot be sliced for tensor parallelism/);
  });
});
