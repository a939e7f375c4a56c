// Golden tests: logits and every hidden state within tolerance of the reference, the first diverging
// layer named, greedy tokens exactly equal. Covers the shared fixtures (transformers / numpy goldens)
// and two models of other shapes made by tools/fixtures/make_odd_fixtures.py.
import { afterAll, describe, expect, it } from "vitest";
import { createBackend } from "../../ffi/backend.ts";
import { type LoadedModel, loadModel } from "../../runtime/model/load-model.ts";
import { SingleSequence } from "../../runtime/model/single-sequence.ts";
import { fixtureDir, Golden } from "../helpers/fixtures.ts";
import { expectLogitsAndGreedy, firstHiddenDivergence } from "../helpers/golden-checks.ts";

const backend = createBackend("cpu");
const fixtures = ["tiny-mistral3", "tiny-mistral3-fp8", "tiny-mistral3-native", "odd-bf16", "odd-native-fp8"];
const loaded: LoadedModel[] = [];
afterAll(() => loaded.forEach((m) => m.dispose()));

describe.each(fixtures)("golden %s", (name) => {
  const golden = new Golden(name);
  const model = loadModel(fixtureDir(name), backend);
  loaded.push(model);
  const t = model.config.text;

  it.each(golden.textCases())("case %s: hidden states, logits and greedy tokens", (c) => {
    const ids = golden.i32(`${c}.input_ids`);
    const seq = new SingleSequence(backend, model.model, ids.length + 16);
    try {
      const hidden = new Map<number | "final", Float32Array>();
      const result = seq.append(ids, { allRows: true, onHidden: (layer, v) => hidden.set(layer, v) });
      expect(firstHiddenDivergence(hidden, golden, c, t.numLayers), "first diverging hidden state").toBeNull();
      expectLogitsAndGreedy(seq, result.logits, golden, c, t.vocabSize);
    } finally {
      seq.dispose();
    }
  });
});

describe("layouts", () => {
  it("the native fixture reproduces the FP8 fixture's golden from its own files", () => {
    const fp8 = new Golden("tiny-mistral3-fp8"), native = new Golden("tiny-mistral3-native");
    expect(native.textCases().sort()).toEqual(fp8.textCases().sort());
    for (const c of native.textCases()) expect(native.f32(`${c}.logits`)).toEqual(fp8.f32(`${c}.logits`));
    const a = loadModel(fixtureDir("tiny-mistral3-fp8"), backend),
      b = loadModel(fixtureDir("tiny-mistral3-native"), backend);
    try {
      expect(b.config.layout).toBe("native");
      expect(b.config.text).toEqual(a.config.text);
    } finally {
      a.dispose();
      b.dispose();
    }
  });
});
