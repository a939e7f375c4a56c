// The draft's input rows: x[p] = eagle_linear(concat(embed(token[p+1]), feature[p])) =
// W_e·embed(token) + W_h·feature, computed with the kernels on the device.
import type { Backend } from "../../ffi/backend.ts";
import type { TextWeights } from "../weights/load-text.ts";
import type { LoadedDraft } from "./load-draft.ts";

/** tokens[i] is the token at position p+1 of row i; features[i·C..] the feature (target or draft hidden) at p. */
export function draftInputs(
  backend: Backend,
  draft: LoadedDraft,
  shared: TextWeights,
  tokens: Int32Array,
  features: Float32Array,
): Float32Array {
  const c = draft.config.text, n = tokens.length, C = c.hiddenSize;
  if (features.length !== n * C) {
    throw new RangeError(`draft inputs: ${features.length} feature values for ${n} rows of ${C}`);
  }
  using ids = backend.fromHost(tokens);
  using embedded = backend.alloc(n * C * 4);
  using feats = backend.fromHost(features);
  using fromEmbed = backend.alloc(n * C * 4);
  using fromFeature = backend.alloc(n * C * 4);
  backend.embed(embedded, shared.embed, ids, n, c.vocabSize, C);
  backend.linear(fromEmbed, embedded, draft.eagleEmbed, n, C, C);
  backend.linear(fromFeature, feats, draft.eagleFeature, n, C, C);
  backend.add(fromEmbed, fromEmbed, fromFeature, n * C);
  return backend.download(fromEmbed, new Float32Array(n * C));
}
