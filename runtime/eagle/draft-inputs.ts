// The draft's input rows: x[p] = eagle_linear(concat(embed(token[p+1]), feature[p])) =
// W_e·embed(token) + W_h·feature, computed with the kernels on the device. The device buffers are kept and grown
// on demand (one set per speculator), so a drafting round allocates nothing.
import type { Backend, DeviceBuffer } from "../../ffi/backend.ts";
import type { TextWeights } from "../weights/load-text.ts";
import type { LoadedDraft } from "./load-draft.ts";

export class DraftInputs {
  #rows = 0;
  #buffers: DeviceBuffer[] = [];

  constructor(readonly backend: Backend, readonly draft: LoadedDraft, readonly shared: TextWeights) {}

  /** tokens[i] is the token at position p+1 of row i; features[i·C..] the feature (target or draft hidden) at p. */
  compute(tokens: Int32Array, features: Float32Array): Float32Array {
    const b = this.backend, c = this.draft.config.text, n = tokens.length, C = c.hiddenSize;
    if (features.length !== n * C) {
      throw new RangeError(`draft inputs: ${features.length} feature values for ${n} rows of ${C}`);
    }
    this.#ensure(n, C);
    const [ids, embedded, feats, fromEmbed, fromFeature] = this.#buffers;
    b.upload(ids, tokens);
    b.upload(feats, features);
    b.embed(embedded, this.shared.embed, ids, n, c.vocabSize, C);
    b.linear(fromEmbed, embedded, this.draft.eagleEmbed, n, C, C);
    b.linear(fromFeature, feats, this.draft.eagleFeature, n, C, C);
    b.add(fromEmbed, fromEmbed, fromFeature, n * C);
    return b.download(fromEmbed, new Float32Array(n * C));
  }

  #ensure(n: number, C: number): void {
    if (n <= this.#rows) return;
    this.dispose();
    const rows = Math.max(n, 2 * this.#rows);
    this.#buffers = [rows * 4, rows * C * 4, rows * C * 4, rows * C * 4, rows * C * 4].map((bytes) =>
      this.backend.alloc(bytes)
    );
    this.#rows = rows;
  }

  dispose(): void {
    for (const buf of this.#buffers) buf.dispose();
    this.#buffers = [];
    this.#rows = 0;
  }
}

/** One-off draft inputs (tests and tools; the speculator keeps a DraftInputs). */
export function draftInputs(
  backend: Backend,
  draft: LoadedDraft,
  shared: TextWeights,
  tokens: Int32Array,
  features: Float32Array,
): Float32Array {
  const inputs = new DraftInputs(backend, draft, shared);
  try {
    return inputs.compute(tokens, features);
  } finally {
    inputs.dispose();
  }
}
