// Runs an EAGLE draft teacher-forced over a whole sequence (draft position p gets token p+1 and the
// target's hidden state at p), as the draft goldens are defined.
import { draftInputs } from "../../runtime/eagle/draft-inputs.ts";
import type { LoadedDraft } from "../../runtime/eagle/load-draft.ts";
import { KvCache } from "../../runtime/model/kv-cache.ts";
import type { LoadedModel } from "../../runtime/model/load-model.ts";
import { backend } from "./engine.ts";

/** swapHalves: feed concat(h, e) instead of concat(e, h) (a control that must fail the golden). */
export function runDraftOver(draft: LoadedDraft, target: LoadedModel, tokens: Int32Array, features: Float32Array, swapHalves = false) {
  const n = tokens.length, blocks = Math.ceil(n / 16) + 1;
  const d = swapHalves ? { ...draft, eagleEmbed: draft.eagleFeature, eagleFeature: draft.eagleEmbed } : draft;
  const x = draftInputs(backend, d, target.weights, tokens, features);
  const cache = new KvCache(backend, draft.config.text, blocks, 16);
  try {
    const all = Int32Array.from({ length: n }, (_, i) => i);
    return draft.model.forward({
      tokenIds: tokens, positions: all, slots: all, queryStarts: Int32Array.of(0, n), contextLens: Int32Array.of(n),
      blockTables: Int32Array.from({ length: blocks }, (_, i) => i), maxBlocksPerSeq: blocks, logitRows: all, inputEmbeddings: x,
    }, cache);
  } finally {
    cache.dispose();
  }
}
