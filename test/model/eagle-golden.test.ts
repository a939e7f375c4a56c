// The EAGLE draft against tiny-mistral3-eagle's golden: draft input at position p is
// eagle_linear(concat(embed(token[p+1]), target_hidden[p])), rotary position p; outputs are the logits
// (target lm_head) and the post-norm draft hidden. Controls show the test notices a wrong concat order,
// a wrong shift, and features that are not the target's final-norm state.
import { afterAll, describe, expect, it } from "vitest";
import { loadDraft } from "../../runtime/eagle/load-draft.ts";
import { closeness, describe as explain } from "../helpers/compare.ts";
import { draftGoldenMismatch, runDraftOver, targetFinalHidden } from "../helpers/eagle.ts";
import { fixtureDir, Golden } from "../helpers/fixtures.ts";
import { backend, fixtureModel } from "../helpers/engine.ts";

const target = fixtureModel("tiny-mistral3-fp8");
const draft = loadDraft(fixtureDir("tiny-mistral3-eagle"), backend, target);
const golden = new Golden("tiny-mistral3-eagle");
afterAll(() => draft.dispose());
const C = 64, V = 512;

const runDraft = (tokens: Int32Array, features: Float32Array, swap = false) =>
  runDraftOver(draft, target, tokens, features, swap);

describe.each(["text_long", "random_64"])("EAGLE draft golden (%s)", (c) => {
  const ids = golden.i32(`${c}.input_ids`);
  const targetHidden = golden.f32(`${c}.target_hidden`);
  const T = ids.length;

  it("the target's final-norm hidden states match the golden's target_hidden", () => {
    const cmp = closeness(targetFinalHidden(target, ids), targetHidden, 1e-4, 1e-3);
    expect(cmp.ok, explain(cmp)).toBe(true);
  });

  it("reproduces draft_logits and draft_hidden", () => {
    const r = runDraft(ids.subarray(1), targetHidden.subarray(0, (T - 1) * C));
    expect(draftGoldenMismatch(r, golden, c)).toBeNull();
    expect(r.logits.length).toBe((T - 1) * V);
  });

  it("would fail with the wrong concat order, shift or features (controls)", () => {
    const want = golden.f32(`${c}.draft_logits`);
    const unshifted = runDraft(ids.subarray(0, T - 1), targetHidden.subarray(0, (T - 1) * C));
    expect(closeness(unshifted.logits, want, 1e-4, 1e-3).ok).toBe(false);
    const swapped = runDraft(ids.subarray(1), targetHidden.subarray(0, (T - 1) * C), true); // concat(h, e) instead of concat(e, h)
    expect(closeness(swapped.logits, want, 1e-4, 1e-3).ok).toBe(false);
    const shiftedFeatures = runDraft(ids.subarray(1), targetHidden.subarray(C, T * C));
    expect(closeness(shiftedFeatures.logits, want, 1e-4, 1e-3).ok).toBe(false);
  });
});
