// The tokenizer's footprint on the collector: the gateway holds it for its whole life, so each of its heap objects is
// marked by every full collection (runtime/text/tekken/rank-table.ts). Counted with JavaScriptCore's live-object
// count after a full collection, so this runs on Bun (`bun --bun vitest`), as the suite does.
import { describe, expect, it } from "vitest";
import { heapStats } from "bun:jsc";
import { Tekkenizer } from "../../runtime/text/tekken/tekken.ts";

const VOCAB_SIZE = 131_072; // the real model's (model-spec §6.1)
const NUM_SPECIAL = 1000;

/** A tekken.json document with the real model's vocabulary size: the 256 bytes, then distinct 3-byte tokens. */
function bigTekkenDoc(): unknown {
  const vocab = Array.from({ length: VOCAB_SIZE - NUM_SPECIAL }, (_, rank) => {
    const bytes = rank < 256 ? [rank] : [rank >> 16, (rank >> 8) & 0xff, rank & 0xff];
    return { rank, token_bytes: btoa(String.fromCharCode(...bytes)), token_str: null };
  });
  const special_tokens = ["<unk>", "<s>", "</s>"].map((token_str, rank) => ({ rank, token_str, is_control: true }));
  return {
    config: {
      version: "v15",
      pattern: "[a-z]+|[^a-z]+",
      default_vocab_size: VOCAB_SIZE,
      default_num_special_tokens: NUM_SPECIAL,
    },
    vocab,
    special_tokens,
  };
}

function liveObjects(): number {
  (globalThis as unknown as { Bun: { gc(sync: boolean): void } }).Bun.gc(true);
  return heapStats().objectCount;
}

describe("tekken heap footprint", () => {
  it("a 131k-token vocabulary adds a few hundred live objects, not one or more per token", () => {
    const before = liveObjects();
    const tk = Tekkenizer.fromJSON(bigTekkenDoc()); // the document itself is garbage by the next count
    const added = liveObjects() - before;
    // a Map key and a Uint8Array (with its buffer) per token was 391,169 objects here; with the rank table it is
    // ~2,200, none of them per token (the pattern, the specials, code compiled on first use)
    expect(added).toBeLessThan(10_000);
    // and it is the vocabulary: ids round-trip through it
    const ids = tk.encode("\u0001\u0002\u0003");
    expect(ids).toEqual([NUM_SPECIAL + 0x010203]);
    expect([...tk.tokenBytes(ids[0])]).toEqual([1, 2, 3]);
  });
});
