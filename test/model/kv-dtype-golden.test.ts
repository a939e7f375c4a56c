// Goldens through bf16 and FP8 KV caches, with the tolerances each storage is held to, and greedy tokens equal to
// the f32 cache's wherever the f32 top-two logit margin is above the stated margin (a narrower one may flip).
// Tolerances (max |logit − golden| over every prompt row; golden logits reach about ±4.5) and margins, set
// 2026-12-06 from the values seen on these fixtures:
//   f32:  GOLDEN_ABS + GOLDEN_REL·|x| (the golden suite's own)
//   bf16: 0.06 on bf16-weight models (seen ≤ 0.034), margin 0.12; on FP8 models 0.8 (seen ≤ 0.57: the activation
//         quantisation of every FP8 linear turns a bf16-sized change of its input into whole e4m3 steps), margin 0.4
//   fp8:  0.8 on bf16-weight models (seen ≤ 0.56), margin 0.3; 1.1 on FP8 models (seen ≤ 0.79), margin 0.5
import { afterAll, describe, expect, it } from "vitest";
import { createBackend } from "../../ffi/backend.ts";
import type { KvCacheDtype } from "../../runtime/model/kv-cache.ts";
import { type LoadedModel, loadModel } from "../../runtime/model/load-model.ts";
import { SingleSequence } from "../../runtime/model/single-sequence.ts";
import { argmax } from "../../runtime/sampling/basic.ts";
import { closeness, describe as explain } from "../helpers/compare.ts";
import { fixtureDir, Golden } from "../helpers/fixtures.ts";

const backend = createBackend("cpu");
const fixtures = [
  { name: "tiny-mistral3", fp8: false },
  { name: "odd-bf16", fp8: false },
  { name: "tiny-mistral3-fp8", fp8: true },
  { name: "odd-native-fp8", fp8: true },
];
interface Bound {
  logits: number;
  margin: number;
}
const bounds: Record<Exclude<KvCacheDtype, "f32">, { bf16Model: Bound; fp8Model: Bound }> = {
  bf16: { bf16Model: { logits: 0.06, margin: 0.12 }, fp8Model: { logits: 0.8, margin: 0.4 } },
  fp8: { bf16Model: { logits: 0.8, margin: 0.3 }, fp8Model: { logits: 1.1, margin: 0.5 } },
};
const loaded: LoadedModel[] = [];
afterAll(() => loaded.forEach((m) => m.dispose()));

function topTwoMargin(logits: Float32Array): number {
  const top = argmax(logits);
  let second = -Infinity;
  for (let i = 0; i < logits.length; i++) if (i !== top && logits[i] > second) second = logits[i];
  return logits[top] - second;
}

describe.each(fixtures)("$name", ({ name, fp8 }) => {
  const golden = new Golden(name);
  const model = loadModel(fixtureDir(name), backend);
  loaded.push(model);
  const vocab = model.config.text.vocabSize;

  it.each(["bf16", "fp8"] as const)(
    "%s cache: logits within tolerance, greedy equal where the margin allows",
    (dtype) => {
      const bound = fp8 ? bounds[dtype].fp8Model : bounds[dtype].bf16Model;
      let checkedSteps = 0;
      for (const c of golden.textCases()) {
        const ids = Array.from(golden.i32(`${c}.input_ids`));
        const steps = Math.min(16, model.model.maxPositions - ids.length);
        const ref = new SingleSequence(backend, model.model, ids.length + steps, 16, "f32");
        const ours = new SingleSequence(backend, model.model, ids.length + steps, 16, dtype);
        try {
          const all = ours.append(ids, { allRows: true }).logits;
          const cmp = closeness(all, golden.f32(`${c}.logits`), bound.logits, 0);
          expect(cmp.ok, `${c} logits: ${explain(cmp)}`).toBe(true);
          // teacher-forced on the f32 cache's greedy tokens, so both caches always see the same context
          let want = ref.append(ids).logits, got = all.subarray(all.length - vocab);
          for (let step = 0; step < steps; step++) {
            const token = argmax(want);
            if (topTwoMargin(want) > bound.margin) {
              expect(argmax(got), `${c} step ${step}`).toBe(token);
              checkedSteps++;
            }
            if (step < steps - 1) {
              want = ref.append([token]).logits;
              got = ours.append([token]).logits;
            }
          }
        } finally {
          ref.dispose();
          ours.dispose();
        }
      }
      console.log(`${name} ${dtype} cache: ${checkedSteps} greedy steps had a margin above ${bound.margin}`);
      expect(checkedSteps, "steps with a margin wide enough to check").toBeGreaterThan(4);
    },
  );
});
