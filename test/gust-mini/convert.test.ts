// tools/gust-mini/convert_eagle.py turns gust-mini's EAGLE head (Hugging Face names, as training saves it) into
// Mistral's native draft layout. test/fixtures/mini-eagle-convert/ is a random 2-layer head for tiny-mistral3
// converted by it; its golden was computed by the numpy reference from the head *before* conversion
// (tools/gust-mini/test_convert_eagle.py). gust loading the converted files with the loader of Mistral's real
// draft must reproduce it: names, Q/K row order, eagle_linear halves and params.json all have to be right.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadDraft } from "../../runtime/eagle/load-draft.ts";
import { closeness, describe as explain } from "../helpers/compare.ts";
import { backend, fixtureModel } from "../helpers/engine.ts";
import { draftGoldenMismatch, runDraftOver, targetFinalHidden } from "../helpers/eagle.ts";
import { fixtureDir, Golden } from "../helpers/fixtures.ts";

const NAME = "mini-eagle-convert";
const target = fixtureModel("tiny-mistral3");
const draft = loadDraft(fixtureDir(NAME), backend, target);
const golden = new Golden(NAME);
afterAll(() => draft.dispose());
const C = target.config.text.hiddenSize, V = target.config.text.vocabSize;

const runDraft = (tokens: Int32Array, features: Float32Array, swap = false) =>
  runDraftOver(draft, target, tokens, features, swap);

describe("converted EAGLE head (convert_eagle.py) in gust's draft loader", () => {
  it("params.json carries the target's geometry and RoPE, and the draft's layer count", () => {
    const params = JSON.parse(readFileSync(join(fixtureDir(NAME), "params.json"), "utf8"));
    expect(params.n_layers).toBe(2);
    expect(draft.config.layout).toBe("native");
    expect(draft.config.text.numLayers).toBe(2);
    expect(draft.config.text.rope).toEqual(target.config.text.rope);
    expect(draft.config.text.queryScale).toEqual(target.config.text.queryScale);
  });

  describe.each(["text", "random"])("case %s", (c) => {
    const ids = golden.i32(`${c}.input_ids`);
    const targetHidden = golden.f32(`${c}.target_hidden`);
    const T = ids.length;

    it("the target's final-norm hidden states match the reference", () => {
      const cmp = closeness(targetFinalHidden(target, ids), targetHidden, 1e-4, 1e-3);
      expect(cmp.ok, explain(cmp)).toBe(true);
    });

    it("reproduces the reference's draft logits and hidden states from the HF-layout weights", () => {
      const r = runDraft(ids.subarray(1), targetHidden.subarray(0, (T - 1) * C));
      expect(r.logits.length).toBe((T - 1) * V);
      expect(draftGoldenMismatch(r, golden, c)).toBeNull();
    });

    it("would notice swapped eagle_linear halves (control)", () => {
      const r = runDraft(ids.subarray(1), targetHidden.subarray(0, (T - 1) * C), true);
      expect(closeness(r.logits, golden.f32(`${c}.draft_logits`), 1e-4, 1e-3).ok).toBe(false);
    });
  });
});
