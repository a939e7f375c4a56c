// TP N against TP 1 on every model golden: the same greedy tokens as the golden (and as TP 1), every hidden
// state within the golden tolerance, and logits within TP_LOGIT_TOL of TP 1's. The odd shapes cannot run at
// TP 2 or 4 under the head rule (6 heads / 3 KV heads; 5 heads / 1 KV head), so they run at the sizes that
// the rule allows, and the refusal of TP 2 / 4 is checked.
import { afterAll, describe, expect, it } from "vitest";
import { createBackend } from "../../ffi/backend.ts";
import { loadModel } from "../../runtime/model/load-model.ts";
import { SingleSequence } from "../../runtime/model/single-sequence.ts";
import { TensorParallelGroup } from "../../runtime/parallel/leader.ts";
import { fixtureDir, Golden } from "../helpers/fixtures.ts";
import { firstHiddenDivergence, greedyContinuation } from "../helpers/golden-checks.ts";
import { openParallel } from "../helpers/tensor-parallel.ts";

/** Partial sums added in rank order differ from one long dot product by float rounding only. */
const TP_LOGIT_TOL = 1e-4;

const backend = createBackend("cpu", { numThreads: 1 });
const cases: [string, number[]][] = [
  ["tiny-mistral3", [2, 4]],
  ["tiny-mistral3-fp8", [2, 4]],
  ["tiny-mistral3-native", [2, 4]],
  ["odd-bf16", [3]],
  ["odd-native-fp8", [5]],
];

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

for (const [name, sizes] of cases) {
  const golden = new Golden(name);
  const single = loadModel(fixtureDir(name), backend);
  afterAll(() => single.dispose());
  describe.each(sizes)(`golden ${name} at TP %i`, (numRanks) => {
    const tp = openParallel(backend, fixtureDir(name), numRanks);
    afterAll(() => tp.close());
    const t = single.config.text;

    it.each(golden.textCases())("case %s: greedy ≡ TP 1 ≡ golden, logits within tolerance", (c) => {
      const ids = golden.i32(`${c}.input_ids`);
      const one = new SingleSequence(backend, single.model, ids.length + 16);
      const many = new SingleSequence(backend, tp.loaded.model, ids.length + 16);
      try {
        const hidden = new Map<number | "final", Float32Array>();
        const ref = one.append(ids, { allRows: true });
        const got = many.append(ids, { allRows: true, onHidden: (layer, v) => hidden.set(layer, v) });
        expect(firstHiddenDivergence(hidden, golden, c, t.numLayers), "first diverging hidden state").toBeNull();
        const diff = maxAbsDiff(got.logits, ref.logits);
        expect(diff, `max |logit TP ${numRanks} − TP 1|`).toBeLessThan(TP_LOGIT_TOL);
        const last = (l: Float32Array) => l.subarray(l.length - t.vocabSize);
        const greedy = greedyContinuation(many, last(got.logits), 16);
        expect(greedy).toEqual(Array.from(golden.i32(`${c}.greedy`)));
        expect(greedy).toEqual(greedyContinuation(one, last(ref.logits), 16));
      } finally {
        one.dispose();
        many.dispose();
      }
    });
  });
}

describe("sizes the head rule refuses, before any process starts", () => {
  it.each(
    [
      [
        "odd-bf16",
        2,
        /size 2 cannot shard this model: the 3 KV heads neither split into 2 parts.*sizes that work: 1, 3, 6/,
      ],
      ["odd-bf16", 4, /4 does not divide the 6 query heads; sizes that work: 1, 3, 6/],
      ["odd-native-fp8", 2, /2 does not divide the 5 query heads; sizes that work: 1, 5/],
      ["tiny-mistral3", 3, /3 does not divide the 4 query heads; sizes that work: 1, 2, 4/],
    ] as const,
  )("%s at TP %i", (name, n, message) => {
    expect(() => TensorParallelGroup.start(backend, { numRanks: n, modelDir: fixtureDir(name) })).toThrow(message);
  });
});
