// What every runtime of a pool must share, read from its hello: the model (and the names it answers to), the
// tokenizer (a digest of its files), and the limits that decide whether a request is valid or how it is encoded
// (context, vocabulary, special ids, block size, image settings). Capacity may differ between runtimes (KV blocks,
// batch sizes: a bigger GPU holds more); the router reads those from their stats.
import type { HelloMessage } from "../../runtime/wire/messages.ts";

export type RuntimeIdentity = Record<string, unknown>;

export function runtimeIdentity(hello: HelloMessage, tokenizerDigest: string): RuntimeIdentity {
  const m = hello.model;
  return {
    "model id": m.id,
    "model aliases": m.aliases ?? [],
    "tokenizer": tokenizerDigest,
    "context length": m.contextLength,
    "vocabulary size": m.vocabSize,
    "bos id": m.bosId,
    "eos id": m.eosId,
    "vision": m.hasVision,
    "image settings": hello.image,
    "KV block size": hello.limits.blockSize,
    "images per request": hello.limits.maxImagesPerRequest,
  };
}

/** The first way `got` differs from `want`, in words, or null when they match. Example: model id "a" vs "b" →
 * `its model id is "b", the pool serves "a"`. */
export function identityDifference(want: RuntimeIdentity, got: RuntimeIdentity): string | null {
  for (const [field, value] of Object.entries(want)) {
    const a = JSON.stringify(value), b = JSON.stringify(got[field]);
    if (a !== b) {
      const what = field === "tokenizer" ? "tokenizer files differ (digest" : `${field} is`;
      return `its ${what} ${b}${field === "tokenizer" ? ")" : ""}, the pool's runtimes have ${a}; every runtime ` +
        "behind one gateway must serve the same model, tokenizer and limits";
    }
  }
  return null;
}
