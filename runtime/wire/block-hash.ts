// Content hashes of full KV blocks, chained to their prefix, for prefix caching.
//
// hash(block i) = mix(hash(block i−1), token ids of block i, extra key of block i). Two sequences share a
// block only if everything before it and the block itself are identical, so a hit reuses K/V that was
// computed for exactly the same positions and context. The extra key carries content the token ids do
// not show (an image's pixel hash behind its [IMG] placeholders).
//
// Example (block size 4): tokens [1 5 9 2 | 7 7 3 8 | 4] → two full blocks hashed h0 = H(seed, 1 5 9 2),
// h1 = H(h0, 7 7 3 8); the partial third block is never cached.

/** A 64-bit hash as a string key "hi:lo" (two 32-bit FNV-style lanes with a murmur finaliser). */
export type BlockHash = string;

const SEED_A = 0x811c9dc5, SEED_B = 0x01000193;

function mix32(h: number, value: number): number {
  h = Math.imul(h ^ value, 0x5bd1e995);
  return (h ^ (h >>> 15)) >>> 0;
}

function finalize(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export function hashBlock(parent: BlockHash | null, tokens: ArrayLike<number>, extra = ""): BlockHash {
  let a = SEED_A, b = SEED_B;
  if (parent !== null) {
    const [hi, lo] = parent.split(":");
    a = mix32(a, Number.parseInt(hi, 16));
    b = mix32(b, Number.parseInt(lo, 16));
  }
  for (let i = 0; i < tokens.length; i++) {
    a = mix32(a, tokens[i]);
    b = mix32(b, tokens[i] ^ 0x9e3779b9);
  }
  for (let i = 0; i < extra.length; i++) {
    a = mix32(a, extra.charCodeAt(i) | 0x10000);
    b = mix32(b, extra.charCodeAt(i) * 31);
  }
  return `${finalize(a).toString(16)}:${finalize(b ^ a).toString(16)}`;
}
