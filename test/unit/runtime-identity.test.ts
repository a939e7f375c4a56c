// What a pool's runtimes must share (edge/runtime-pool/identity.ts): a difference is named, capacity may differ.
import { describe, expect, it } from "vitest";
import { identityDifference, runtimeIdentity } from "../../edge/runtime-pool/identity.ts";
import type { HelloMessage } from "../../runtime/wire/messages.ts";

const hello = (over: { model?: Partial<HelloMessage["model"]>; limits?: Partial<HelloMessage["limits"]> } = {}) =>
  ({
    type: "hello",
    protocol: 1,
    model: {
      id: "gust-mini",
      contextLength: 4096,
      vocabSize: 1000,
      bosId: 1,
      eosId: 2,
      hasVision: false,
      ...over.model,
    },
    limits: {
      maxNumSeqs: 16,
      maxBatchedTokens: 2048,
      numBlocks: 256,
      blockSize: 16,
      maxImagesPerRequest: 8,
      ...over.limits,
    },
    tokenizer: { files: [] },
    image: null,
    draining: false,
  }) as HelloMessage;

describe("runtime identity", () => {
  const base = runtimeIdentity(hello(), "aa:bb");

  it("matches a runtime that differs only in capacity (KV blocks, batch sizes)", () => {
    const bigger = runtimeIdentity(
      hello({ limits: { numBlocks: 4096, maxNumSeqs: 64, maxBatchedTokens: 8192 } }),
      "aa:bb",
    );
    expect(identityDifference(base, bigger)).toBeNull();
  });

  it("names the model, tokenizer or limit that differs", () => {
    expect(identityDifference(base, runtimeIdentity(hello({ model: { id: "other" } }), "aa:bb"))).toMatch(
      /^its model id is "other", the pool's runtimes have "gust-mini"; every runtime behind one gateway/,
    );
    expect(identityDifference(base, runtimeIdentity(hello(), "cc:dd"))).toMatch(
      /tokenizer files differ \(digest "cc:dd"\)/,
    );
    expect(identityDifference(base, runtimeIdentity(hello({ model: { contextLength: 2048 } }), "aa:bb"))).toMatch(
      /its context length is 2048, the pool's runtimes have 4096/,
    );
    expect(identityDifference(base, runtimeIdentity(hello({ limits: { blockSize: 32 } }), "aa:bb"))).toMatch(
      /KV block size is 32/,
    );
  });
});
