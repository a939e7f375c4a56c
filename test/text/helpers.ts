import { readFileSync } from "node:fs";
import { Tekkenizer } from "../../runtime/text/tekken/tekken.ts";

export const FIXTURE_TEKKEN = "test/fixtures/tiny-mistral3/tekken.json";

export function readJson(path: string): any {
  return JSON.parse(readFileSync(path, "utf8"));
}

let cached: Tekkenizer | undefined;
export function fixtureTekken(): Tekkenizer {
  return (cached ??= Tekkenizer.fromJSON(readJson(FIXTURE_TEKKEN)));
}

/** A seeded PRNG (mulberry32) so property tests are reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random valid Unicode text (no lone surrogates), weighted towards what tokenizers find hard. */
export function randomText(rand: () => number, maxLen: number): string {
  const pools: Array<[number, number]> = [
    [0x20, 0x7e],
    [0x09, 0x0d],
    [0xa0, 0x24f],
    [0x370, 0x3ff],
    [0x400, 0x4ff],
    [0x600, 0x6ff],
    [0x900, 0x97f],
    [0x3040, 0x30ff],
    [0x4e00, 0x9fff],
    [0xac00, 0xd7a3],
    [0x1f300, 0x1faff],
    [0x300, 0x36f],
    [0x2000, 0x206f],
    [0x10000, 0x10ffff],
    [0x80, 0x9f],
    [0xfeff, 0xfeff],
    [0xe000, 0xfffc],
  ];
  const n = Math.floor(rand() * maxLen);
  let s = "";
  for (let i = 0; i < n; i++) {
    const [lo, hi] = pools[Math.floor(rand() * pools.length)];
    let cp = lo + Math.floor(rand() * (hi - lo + 1));
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0x41;
    s += String.fromCodePoint(cp);
  }
  return s;
}
