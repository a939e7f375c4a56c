// A small seeded PRNG (SplitMix64 seeding xoshiro128**): the same seed gives the same stream on every
// platform, which is what per-request seeds promise.

export class Rng {
  #s = new Uint32Array(4);

  constructor(seed: number | bigint) {
    let x = BigInt.asUintN(64, BigInt(seed));
    for (let i = 0; i < 4; i += 2) {
      x = BigInt.asUintN(64, x + 0x9e3779b97f4a7c15n);
      let z = x;
      z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
      z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn);
      z ^= z >> 31n;
      this.#s[i] = Number(z & 0xffffffffn);
      this.#s[i + 1] = Number(z >> 32n);
    }
    if (this.#s.every((v) => v === 0)) this.#s[0] = 1;
  }

  /** Next 32 random bits. */
  nextU32(): number {
    const s = this.#s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  nextFloat(): number {
    return this.nextU32() / 4294967296;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
