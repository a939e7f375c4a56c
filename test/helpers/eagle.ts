// Runs an EAGLE draft teacher-forced over a whole sequence (draft position p gets token p+1 and the
// target's hidden state at p), as the draft goldens are defined.
import { draftInputs } from "../../runtime/eagle/draft-inputs.ts";
import type { LoadedDraft } from "../../runtime/eagle/load-draft.ts";
import { KvCache } from "../../runtime/model/kv-cache.ts";
import type { LoadedModel } from "../../runtime/model/load-model.ts";
import { SingleSequence } from "../../runtime/model/single-sequence.ts";
import { closeness, describe as explain } from "./compare.ts";
import { backend } from "./engine.ts";
import type { Golden } from "./fixtures.ts";
import { GOLDEN_ABS, GOLDEN_REL } from "./golden-checks.ts";

/** swapHalves: feed concat(h, e) instead of concat(e, h) (a control that must fail the golden). */
export function runDraftOver(
  draft: LoadedDraft,
  target: LoadedModel,
  tokens: Int32Array,
  features: Float32Array,
  swapHalves = false,
) {
  const n = tokens.length, blocks = Math.ceil(n / 16) + 1;
  const d = swapHalves ? { ...draft, eagleEmbed: draft.eagleFeature, eagleFeature: draft.eagleEmbed } : draft;
  const x = draftInputs(backend, d, target.weights, tokens, features);
  const cache = new KvCache(backend, draft.config.text, blocks, 16);
  try {
    const all = Int32Array.from({ length: n }, (_, i) => i);
    return draft.model.forward({
      tokenIds: tokens,
      positions: all,
      slots: all,
      queryStarts: Int32Array.of(0, n),
      contextLens: Int32Array.of(n),
      blockTables: Int32Array.from({ length: blocks }, (_, i) => i),
      maxBlocksPerSeq: blocks,
      logitRows: all,
      inputEmbeddings: x,
    }, cache);
  } finally {
    cache.dispose();
  }
}

/** The target's final-norm hidden states of every row of `ids` (the draft's features). */
export function targetFinalHidden(target: LoadedModel, ids: Int32Array): Float32Array {
  const seq = new SingleSequence(backend, target.model, ids.length + 1);
  let finalRows: Float32Array = new Float32Array(0);
  try {
    seq.append(ids, {
      allRows: true,
      onHidden: (l, v) => {
        if (l === "final") finalRows = v;
      },
    });
  } finally {
    seq.dispose();
  }
  return finalRows;
}

/** Compares a draft run with a golden case's draft_logits and draft_hidden; returns what differs, or null. */
export function draftGoldenMismatch(
  r: { logits: Float32Array; hidden: Float32Array },
  golden: Golden,
  c: string,
): string | null {
  const logits = closeness(r.logits, golden.f32(`${c}.draft_logits`), GOLDEN_ABS, GOLDEN_REL);
  if (!logits.ok) return `draft logits: ${explain(logits)}`;
  const hidden = closeness(r.hidden, golden.f32(`${c}.draft_hidden`), GOLDEN_ABS, GOLDEN_REL);
  return hidden.ok ? null : `draft hidden: ${explain(hidden)}`;
}
