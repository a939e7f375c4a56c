// `gust dev`: the local entry point behind `npm start`. Until the gateway and the embedded default
// model land (issues 6 and 10), it loads the bundled tiny FP8 model, runs one greedy generation
// through the native kernels and says so plainly.
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createBackend } from "../../ffi/backend.ts";
import { generate } from "../model/generate.ts";
import { loadModel } from "../model/load-model.ts";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

export async function devCommand(_argv: string[]): Promise<string> {
  const dir = join(repoRoot, "test", "fixtures", "tiny-mistral3-fp8");
  const backend = createBackend("cpu");
  const loaded = loadModel(dir, backend);
  try {
    const t = loaded.config.text;
    const prompt = [1, 3, 100, 200, 300, 4];
    const start = performance.now();
    const result = generate(backend, loaded.model, prompt, { maxTokens: 16, temperature: 0, ignoreEos: true });
    const ms = performance.now() - start;
    return [
      `gust dev: kernels ${backend.kind} (${backend.numThreads} threads, ${backend.vectorized ? "AVX2" : "portable"}), self-test passed`,
      `model ${dir}: ${t.numLayers} layers, hidden ${t.hiddenSize}, ${t.numHeads}/${t.numKvHeads} heads, vocab ${t.vocabSize}, ${t.quantization ? "FP8" : "bf16"}`,
      `greedy ids for prompt [${prompt}]: [${result.ids}] (${ms.toFixed(0)} ms)`,
      "The HTTP gateway and the embedded default model are not built yet; this prints a native generation instead.",
    ].join("\n");
  } finally {
    loaded.dispose();
  }
}
