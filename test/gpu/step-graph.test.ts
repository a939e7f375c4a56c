// Decode steps as CUDA graphs (kernels/cuda/step_graph.cu): replaying each decode bucket's recorded step gives
// logits, sampled tokens and a KV cache bit-identical to running the same padded steps eagerly (the same kernels
// with the same launch shapes), over several buckets, a batch that moves between buckets, and f32, bf16 and fp8
// KV caches.
// Prints kernel launches and host time per step with and without graphs (printed, never asserted as times).
// Skipped without a GPU; GUST_GPU_SUITES_ON_CPU=1 runs the harness on the CPU (which has no graphs: 0 launches).
import { afterAll, describe, expect, it } from "vitest";
import type { Backend } from "../../ffi/backend.ts";
import { decodeBucket } from "../../runtime/model/decode-buckets.ts";
import type { KvCacheDtype } from "../../runtime/model/kv-cache.ts";
import { type LoadedModel, loadModel } from "../../runtime/model/load-model.ts";
import { type DecodeRun, decodeRun, expectSameRun } from "../helpers/decode-run.ts";
import { fixtureDir, Golden } from "../helpers/fixtures.ts";
import { gpuOrSkip, standIn } from "./parity.ts";

const gpu = gpuOrSkip("step-graph");
const STEPS = 8; // step 0 runs eagerly (warm-up), step 1 records, steps 2.. replay
const loaded: LoadedModel[] = [];
afterAll(() => loaded.forEach((m) => m.dispose()));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const spread = (xs: number[]) => `${Math.min(...xs).toFixed(3)}–${Math.max(...xs).toFixed(3)}`;

function report(label: string, eager: DecodeRun, graphs: DecodeRun): void {
  const replays = (r: DecodeRun) => r.launches.slice(2);
  const ms = (r: DecodeRun) => r.hostMs.slice(2);
  console.log(
    `${label}: launches/step eager ${median(replays(eager))}, graphs ${median(replays(graphs))}` +
      ` (warm-up ${graphs.launches[0]}, recording ${graphs.launches[1]}); host ms/step eager` +
      ` ${median(ms(eager)).toFixed(3)} (${spread(ms(eager))}), graphs ${median(ms(graphs)).toFixed(3)}` +
      ` (${spread(ms(graphs))})`,
  );
}

describe.skipIf(!gpu).each(["tiny-mistral3", "tiny-mistral3-fp8", "odd-native-fp8"])("CUDA graphs on %s", (name) => {
  const golden = new Golden(name);
  const cases = golden.textCases().map((c) => [...golden.i32(`${c}.input_ids`)]);
  let m: LoadedModel | undefined;
  const model = () => {
    if (!m) loaded.push(m = loadModel(fixtureDir(name), gpu as Backend));
    return m;
  };
  const prompts = (n: number) => Array.from({ length: n }, (_, s) => cases[s % cases.length]);
  const both = (n: number, dtype: KvCacheDtype, active?: (step: number) => number) => {
    const o = { dtype, steps: STEPS, ...(active ? { active } : {}) } as const;
    const eager = decodeRun(gpu as Backend, model(), prompts(n), {
      ...o,
      shaping: { decodeBuckets: true, graphs: false },
    });
    const graphs = decodeRun(gpu as Backend, model(), prompts(n), {
      ...o,
      shaping: { decodeBuckets: true, graphs: true },
    });
    return { eager, graphs };
  };

  it.each(
    [
      [1, "f32"],
      [3, "bf16"],
      [5, "f32"],
      [8, "bf16"],
      [13, "bf16"],
      [6, "fp8"],
    ] as const,
  )("%i sequences (%s KV): replay ≡ eager, bit for bit", (n, dtype) => {
    const { eager, graphs } = both(n, dtype);
    expectSameRun(graphs, eager);
    report(`${name} batch ${n} (bucket ${decodeBucket(n, Infinity)}, ${dtype})`, eager, graphs);
    if (!standIn) {
      // a replay is one graph launch plus the sampling's; eagerly every layer launches its kernels
      expect(graphs.launches.slice(2).every((k) => k === 2), `launches ${graphs.launches}`).toBe(true);
      expect(median(eager.launches)).toBeGreaterThan(10 * model().config.text.numLayers);
    }
  });

  it("a batch moving between buckets (8 → 5 → 2 → 8 sequences): replay ≡ eager", () => {
    const active = (step: number) => [8, 8, 8, 5, 5, 5, 2, 8][step];
    const { eager, graphs } = both(8, "bf16", active);
    expectSameRun(graphs, eager);
    report(`${name} batch 8/5/2/8 (bf16)`, eager, graphs);
  });
});
