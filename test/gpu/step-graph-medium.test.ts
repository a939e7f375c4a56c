// CUDA graphs at Mistral Medium 3.5's shapes (issue 40's measurement): the random FP8 model (gust bench
// --random-model, weights made on the device) with its first GUST_GRAPH_LAYERS layers (default 4), decoding batches
// of 1, 8 and 64 sequences eagerly and through graphs. Sampled tokens must be identical; kernel launches, host ms
// and wall ms per step are printed for both (printed, never asserted as times). GPU only: too large for the CPU.
import { afterAll, describe, expect, it } from "vitest";
import type { Backend } from "../../ffi/backend.ts";
import { randomModelConfig } from "../../runtime/bench/random-models.ts";
import { type LoadedModel, loadModelFrom } from "../../runtime/model/load-model.ts";
import { RandomSource } from "../../runtime/weights/random-source.ts";
import { type DecodeRun, decodeRun } from "../helpers/decode-run.ts";
import { gpuOrSkip, standIn } from "./parity.ts";

const gpu = standIn ? null : gpuOrSkip("step-graph-medium");
const layers = Number(process.env.GUST_GRAPH_LAYERS ?? 4), STEPS = 10; // steps 0, 1: warm-up, recording
let loaded: LoadedModel | undefined;
afterAll(() => loaded?.dispose());

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const summary = (xs: number[]) =>
  `${median(xs).toFixed(3)} (${Math.min(...xs).toFixed(3)}–${Math.max(...xs).toFixed(3)})`;

describe.skipIf(!gpu)(`CUDA graphs on Mistral Medium 3.5 shapes (${layers} layers, random FP8)`, () => {
  const model = () => {
    if (!loaded) {
      const config = randomModelConfig("mistral-medium-3.5", layers);
      loaded = loadModelFrom(config, new RandomSource("mistral-medium-3.5", config.text, 1), gpu as Backend, {
        maxPositions: 4096,
      });
    }
    return loaded;
  };

  it.each([1, 8, 64])("batch %i: the same tokens; launches and times per step printed", (n) => {
    const m = model(), V = m.config.text.vocabSize;
    const prompts = Array.from({ length: n }, (_, s) => Array.from({ length: 12 }, (_, i) => (s * 131 + i * 7) % V));
    const run = (graphs: boolean): DecodeRun =>
      decodeRun(gpu as Backend, m, prompts, {
        dtype: "bf16",
        steps: STEPS,
        keepLogits: false,
        shaping: { decodeBuckets: true, graphs },
      });
    const eager = run(false), graphs = run(true);
    expect(graphs.tokens).toEqual(eager.tokens);
    const tail = (xs: number[]) => xs.slice(2);
    console.log(
      `medium ${layers} layers, batch ${n}: launches/step eager ${median(tail(eager.launches))} ` +
        `(${(median(tail(eager.launches)) / layers).toFixed(1)}/layer), graphs ${median(tail(graphs.launches))}; ` +
        `host ms/step eager ${summary(tail(eager.hostMs))}, graphs ${summary(tail(graphs.hostMs))}; ` +
        `wall ms/step eager ${summary(tail(eager.stepMs))}, graphs ${summary(tail(graphs.stepMs))}`,
    );
    expect(tail(graphs.launches).every((k) => k === 2), `launches ${graphs.launches}`).toBe(true);
  });
});
