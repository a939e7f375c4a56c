// A checkpoint's padding ids (lm_head rows past the tokenizer: gust-mini has 4,096 model ids and 1,226 tokenizer
// ids) are masked when the model is opened with its tokenizer: no temperature, seed or log-probability request
// can name an id the detokenizer does not have (issue 34: temperature 2–5 used to sample them and 500).
import { afterAll, describe, expect, it } from "vitest";
import { createBackend } from "../../ffi/backend.ts";
import { defaultModelDir } from "../../runtime/config/default-model.ts";
import { runOnce } from "../../runtime/engine/run-once.ts";
import { loadModel } from "../../runtime/model/load-model.ts";
import { SingleSequence } from "../../runtime/model/single-sequence.ts";
import { ModelHost } from "../../runtime/server/model-host.ts";
import { fixtureDir } from "../helpers/fixtures.ts";

const backend = createBackend("cpu");
const disposers: (() => void)[] = [];
afterAll(() => disposers.forEach((d) => d()));

describe("padding ids", () => {
  it("a model limited to its tokenizer's ids gives −∞ logits above them and never samples them", () => {
    const loaded = loadModel(fixtureDir("tiny-mistral3"), backend);
    disposers.push(() => loaded.dispose());
    const V = loaded.config.text.vocabSize, limit = 300;
    loaded.model.limitVocab(limit);
    const seq = new SingleSequence(backend, loaded.model, 8);
    const logits = seq.append([1, 5, 9], { allRows: true }).logits;
    seq.dispose();
    for (let r = 0; r < 3; r++) {
      expect(logits.subarray(r * V + limit, (r + 1) * V).every((x) => x === -Infinity)).toBe(true);
      expect(logits.subarray(r * V, r * V + limit).every((x) => Number.isFinite(x))).toBe(true);
    }
    const samples = runOnce(backend, loaded.model, null, {
      promptIds: [1, 5, 9],
      maxTokens: 40,
      n: 4,
      ignoreEos: true,
      sampling: { temperature: 5, seed: 11, logprobs: 20 },
    });
    for (const s of samples) {
      for (const t of s.tokens) {
        expect(t.token).toBeLessThan(limit);
        for (const alt of t.topLogprobs ?? []) expect(alt.token).toBeLessThan(limit);
      }
    }
    expect(() => loaded.model.limitVocab(V + 1)).toThrow(/outside \[1, 512\]/);
  });

  it("the runtime's host masks gust-mini's padding ids at load, and temperature 5 stays inside the tokenizer", async () => {
    const host = await ModelHost.open(backend, { modelDir: defaultModelDir, numBlocks: 64, textOnly: true });
    disposers.push(() => host.dispose());
    expect(host.loaded.config.text.vocabSize).toBe(4096);
    expect(host.tokenizer.vocabSize).toBe(1226);
    expect(host.loaded.model.vocabLimit).toBe(1226);
    const samples = runOnce(backend, host.loaded.model, null, {
      promptIds: [1, 3, 200, 201, 4],
      maxTokens: 48,
      n: 4,
      ignoreEos: true,
      sampling: { temperature: 5, seed: 3 },
    });
    const ids = samples.flatMap((s) => s.tokens.map((t) => t.token));
    expect(ids.length).toBe(4 * 48);
    expect(Math.max(...ids)).toBeLessThan(1226);
  });
});
