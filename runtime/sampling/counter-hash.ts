// Counter-based randomness for sampling: the uniform for vocabulary entry i at decode step t of a request
// with seed s is a pure function of (s, t, i). Nothing is carried from one call to the next, so a sequence
// draws the same tokens whether it runs alone or inside any batch, in any order, and a GPU kernel can
// produce the same numbers per thread without a generator state or a host round-trip.
//
// The function is MurmurHash3_x86_32 (seed 0) over the 16-byte little-endian key
// [seed_lo, seed_hi, step, index] (four u32 words; seed_lo/seed_hi are the low/high halves of the request
// seed as a 64-bit two's-complement integer). Murmur3 is chosen because it is a published, widely
// reimplemented hash with good avalanche (every input bit flips each output bit with p ≈ 1/2), it needs
// only 32-bit multiplies, rotates and xors (cheap in JS and in any kernel language), and the first three
// words are the same for a whole row, so per-entry work is one block and the finaliser.
//
// Worked example: seed 42, step 0, index 1 → words [42, 0, 0, 1].
//   block k (each word): k *= 0xcc9e2d51; k = rotl(k, 15); k *= 0x1b873593;
//                        h ^= k; h = rotl(h, 13); h = h * 5 + 0xe6546b64          (all mod 2^32)
//   h after words 1..4: 0x0ed18dd6, 0xdefa34a6, 0x473cb6bf, 0x6261fe25
//   h ^= 16 (key length in bytes) → 0x6261fe35
//   fmix32: h ^= h >>> 16; h *= 0x85ebca6b; h ^= h >>> 13; h *= 0xc2b2ae35; h ^= h >>> 16 → 0x6ac7e06f
//   u = (h + 0.5) / 2^32 = 0.41711237642448395, E = −ln u = 0.8743996056601594
// The +0.5 keeps u strictly inside (0, 1), so E is finite and positive. (A float32 kernel should compute
// E as −log1p(−(1 − u)) or from the complement word to keep precision near u = 1; the hash words are the
// contract, the float rounding of E is not.)

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;
const TWO_POW_32 = 4294967296;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

/** One Murmur3 body block: mixes word k into state h (both u32 as JS numbers). */
function mixBlock(h: number, k: number): number {
  k = Math.imul(k, C1);
  k = rotl(k, 15);
  k = Math.imul(k, C2);
  h ^= k;
  h = rotl(h, 13);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** Murmur3's finaliser: full avalanche of the 32-bit state. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** MurmurHash3_x86_32 of a key made of whole little-endian u32 words (so published vectors can check it). */
export function murmur3Words(words: ArrayLike<number>, seed = 0): number {
  let h = seed | 0;
  for (let i = 0; i < words.length; i++) h = mixBlock(h, words[i] | 0);
  return fmix32(h ^ (words.length * 4));
}

/**
 * The state after the three per-row words (seed_lo, seed_hi, step); finish it per entry with
 * `counterHashAt`. Splitting the hash this way makes a full-vocabulary row one block per entry.
 */
export function counterHashPrefix(seedLo: number, seedHi: number, step: number): number {
  return mixBlock(mixBlock(mixBlock(0, seedLo | 0), seedHi | 0), step | 0);
}

/** Finishes a prefix from `counterHashPrefix` for vocabulary entry `index`: a u32. */
export function counterHashAt(prefix: number, index: number): number {
  return fmix32(mixBlock(prefix, index | 0) ^ 16);
}

/** The whole counter hash of (seed_lo, seed_hi, step, index) as a u32. */
export function counterHash(seedLo: number, seedHi: number, step: number, index: number): number {
  return counterHashAt(counterHashPrefix(seedLo, seedHi, step), index);
}

/** Maps a u32 hash to a uniform strictly inside (0, 1). */
export function uniformFromHash(h: number): number {
  return (h + 0.5) / TWO_POW_32;
}

/** Splits an integer seed into the low and high u32 words of its 64-bit two's-complement form. */
export function splitSeed(seed: number): [lo: number, hi: number] {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
  const lo = seed >>> 0; // ToUint32 is exact modulo 2^32, also for negatives
  const hi = Math.floor(seed / TWO_POW_32) >>> 0; // floor keeps two's complement for negatives
  return [lo, hi];
}

/**
 * A new seed for sample `index` of a request seeded with `seed` (several samples of one prompt must not
 * draw identical streams). The result is a non-negative safe integer (53 bits), so it can be reported
 * back and reused as a request seed.
 */
export function deriveSeed(seed: number, index: number): number {
  const [lo, hi] = splitSeed(seed);
  // Step word 0xffffffff is reserved for seed derivation: decode steps never get near 2^32.
  const a = murmur3Words([lo, hi, 0xffffffff, index >>> 0]);
  const b = murmur3Words([hi, lo, 0xffffffff, index >>> 0], 0x9e3779b9);
  return (b & 0x1fffff) * TWO_POW_32 + a;
}

/** A fresh random seed (53 bits) for a request that did not give one. */
export function randomSeed(): number {
  const w = crypto.getRandomValues(new Uint32Array(2));
  return (w[1] & 0x1fffff) * TWO_POW_32 + w[0];
}
