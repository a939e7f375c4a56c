// Sampler time per row at the real vocabulary (131,072): the TypeScript spec (sampler.ts) against the native
// sampler (gust_sample) called one row at a time and with a whole batch per call. Median and spread of several
// repeats; printed by `gust bench`, never asserted (this VM is noisy).
import type { Backend } from "../../ffi/backend.ts";
import { NativeSampler, type NativeSampleRow } from "../sampling/native-sampler.ts";
import type { SamplingParams } from "../sampling/params.ts";
import { SequenceSampler } from "../sampling/sampler.ts";

export interface SamplerFigure {
  setting: string;
  /** ms per row: median, min, max over the repeats. */
  typescript: [number, number, number];
  nativeSingle: [number, number, number];
  nativeBatch: [number, number, number];
  /** Process CPU ms per row of the same calls (every thread's), median, min, max. */
  nativeSingleCpu: [number, number, number];
  nativeBatchCpu: [number, number, number];
  batch: number;
}

const settings: [string, SamplingParams][] = [
  ["greedy", { temperature: 0 }],
  ["temperature 0.7, top-p 0.95", { temperature: 0.7, topP: 0.95 }],
  ["temperature 1, top-k 50, rep. penalty 1.1", { topK: 50, repetitionPenalty: 1.1 }],
];

function spread(ms: number[]): [number, number, number] {
  const s = [...ms].sort((a, b) => a - b);
  return [s[Math.floor(s.length / 2)], s[0], s[s.length - 1]];
}

export function measureSampler(backend: Backend, vocab = 131_072, batch = 64, repeats = 5): SamplerFigure[] {
  // a peaked row like a model's: a few dozen plausible ids over a long tail
  const logits = Float32Array.from({ length: vocab }, (_, i) => Math.sin(i * 12.9898) * 3 + (i % 997 === 0 ? 8 : 0));
  using row = backend.borrowHost(logits);
  const native = new NativeSampler(backend, vocab);
  const prompt = Array.from({ length: 512 }, (_, i) => (i * 7919) % vocab);
  try {
    return settings.map(([setting, params]) => {
      const sampler = new SequenceSampler({ ...params, seed: 1 }, vocab, prompt);
      const generated = prompt.slice(0, 64);
      const rows: NativeSampleRow[] = Array.from({ length: batch }, (_, step) => ({
        sampler,
        generatedIds: generated,
        step,
        logitsRow: 0,
      }));
      /** [wall, CPU] ms per row: median, min, max over the repeats. */
      const time = (fn: () => void, perRow: number) => {
        const wall: number[] = [], cpu: number[] = [];
        for (let r = 0; r < repeats; r++) {
          const t0 = performance.now(), c0 = process.cpuUsage();
          fn();
          const c = process.cpuUsage(c0);
          wall.push((performance.now() - t0) / perRow);
          cpu.push((c.user + c.system) / 1000 / perRow);
        }
        return [spread(wall), spread(cpu)] as const;
      };
      const single = 8;
      time(() => native.sample(row, 1, rows), batch); // warm: scratch and code paths
      const [nativeSingle, nativeSingleCpu] = time(() => {
        for (let s = 0; s < single; s++) native.sample(row, 1, [rows[s]]);
      }, single);
      const [nativeBatch, nativeBatchCpu] = time(() => native.sample(row, 1, rows), batch);
      const [typescript] = time(() => {
        for (let s = 0; s < single; s++) sampler.sample(logits, generated, s);
      }, single);
      return { setting, batch, typescript, nativeSingle, nativeBatch, nativeSingleCpu, nativeBatchCpu };
    });
  } finally {
    native.dispose();
  }
}

export function formatSamplerFigures(figures: SamplerFigure[], vocab: number, threads: number): string[] {
  const f = ([m, lo, hi]: [number, number, number]) => `${m.toFixed(3)} ms (${lo.toFixed(3)}–${hi.toFixed(3)})`;
  return [
    `sampler per row at vocab ${vocab} (median, min–max of repeats; native rows in parallel on ${threads} threads;`,
    "CPU: process CPU ms per row of the same native calls)",
    ...figures.map((x) =>
      `${x.setting.padEnd(42)} TypeScript ${f(x.typescript)}  native ${f(x.nativeSingle)} CPU ${
        f(x.nativeSingleCpu)
      }  native batch ${x.batch} ${f(x.nativeBatch)} CPU ${f(x.nativeBatchCpu)}`
    ),
  ];
}
