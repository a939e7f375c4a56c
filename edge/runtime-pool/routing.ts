// Which runtime of the pool serves a request: the one that already holds the longest prefix of its prompt in its
// prefix cache, unless it is much busier than the least-loaded one; otherwise the least-loaded (SGLang's cache-aware
// router, Dynamo's KV router). Pure: no sockets, no clocks; the pool feeds it loads and tells it who served what.
//
// The gateway cannot see the runtimes' caches, so it keeps an approximate map: block hash → runtimes that served a
// prompt containing that block chain. Hashes are the runtime's own (runtime/wire/block-hash.ts), chained, so a hit on
// block i implies the whole prefix up to i matched; blocks holding image tokens carry the image's digest as their
// extra key, as in the runtime (runtime/wire/image-keys.ts), so the same ids with other pixels are another chain. The map is bounded (least recently used hashes go first) and a
// runtime's entries are dropped when it leaves (a restarted runtime comes back with an empty cache).
//
// Worked example (blockSize 4, runtimes A and B, both idle):
//   1. prompt [1 2 3 4 | 5 6 7 8 | 9]: no block known → least-loaded, tie → A (rotating tie-break); the map now holds
//      h0 = H(null, 1 2 3 4) → {A} and h1 = H(h0, 5 6 7 8) → {A}; the partial block [9] is never hashed.
//   2. prompt [1 2 3 4 | 5 6 7 8 | 9 10 11 12 | 13] (the next turn): h0, h1 known on A, h2 unknown → A holds
//      2 blocks (8 tokens) → "prefix" to A, and h2 is recorded for A.
//   3. same prompt while A runs 12 requests and B runs 2: 12 ≥ 2 + busySlack (8) and 12 ≥ 2 · busyRatio (2) →
//      "load_override" to B, which then holds h0…h2 too.
//   4. prompt [1 2 3 4 | 5 10 10 13 | 9] whose image (ids 10 10 13, digest D) lies in block 1: h1 = H(h0, 5 10 10 13,
//      "D"); the same ids with another picture E hash H(h0, 5 10 10 13, "E"), so only h0 is shared with it.
import { type BlockHash, hashBlock } from "../../runtime/wire/block-hash.ts";
import { imageBlockKeys } from "../../runtime/wire/image-keys.ts";
import type { ImageTokenIds } from "../../runtime/wire/image-runs.ts";

/** What the policy knows of one runtime's load (from its stats frames and the gateway's own in-flight count). */
export interface RuntimeLoad {
  /** Sequences running plus waiting in its engine. */
  queued: number;
  kvBlocksFree: number;
  kvBlocksTotal: number;
}

/** A block's extra hash key (block index → the digests of the images whose tokens it holds, or ""). */
export type BlockKeys = (blockIndex: number) => string;
const noKeys: BlockKeys = () => "";

/** The image keys of a prompt's blocks as the runtime makes them from the same digests (an image's `hash`, from the
 * gateway's renderer, is the runtime's imageDigest of its pixels). None for a text prompt, a runtime without vision
 * (`tokenIds` absent), or a layout the runtime will refuse anyway (malformed runs, images that do not match them). */
export function imageBlockKeysOf(
  prompt: { promptIds: readonly number[]; images?: readonly { hash: string }[] },
  tokenIds: ImageTokenIds | undefined,
  blockSize: number,
): BlockKeys | undefined {
  if (!prompt.images?.length || !tokenIds) return undefined;
  try {
    return imageBlockKeys(prompt.promptIds, prompt.images.map((img) => img.hash), tokenIds, blockSize);
  } catch {
    return undefined; // the runtime answers this request with the reason; where it goes does not matter
  }
}

export type RoutingMode = "prefix" | "least-loaded" | "random";
export const ROUTING_MODES: readonly RoutingMode[] = ["prefix", "least-loaded", "random"];

export type RoutingReason = "prefix" | "least_loaded" | "load_override" | "random";

export interface RoutingDecision {
  runtime: string;
  reason: RoutingReason;
  /** Prompt tokens the chosen runtime is believed to hold (whole blocks). */
  prefixTokens: number;
  /** The prompt's full-block hashes, for `record` once the request is sent. */
  hashes: BlockHash[];
}

export interface RouterOptions {
  mode?: RoutingMode;
  blockSize: number;
  /** Most block hashes remembered (each names the runtimes that served it). Default 200 000. */
  maxEntries?: number;
  /** "Much busier": at least this many more queued sequences than the least-loaded… Default 8. */
  busySlack?: number;
  /** …and at least this many times as many. Default 2. */
  busyRatio?: number;
  /** KV share below which a runtime counts as full (it would evict what we hoped to hit). Default 0.05. */
  kvLowFraction?: number;
  /** Source of randomness for "random" mode (tests pass a seeded one). */
  random?: () => number;
}

export class PrefixRouter {
  readonly mode: RoutingMode;
  readonly blockSize: number;
  readonly #maxEntries: number;
  readonly #busySlack: number;
  readonly #busyRatio: number;
  readonly #kvLow: number;
  readonly #random: () => number;
  /** hash → runtimes that served it; Map order is recency (touched entries are re-inserted at the end). */
  readonly #served = new Map<BlockHash, Set<string>>();
  #ties = 0;

  constructor(o: RouterOptions) {
    if (!(Number.isInteger(o.blockSize) && o.blockSize > 0)) {
      throw new RangeError("blockSize must be a positive integer");
    }
    this.mode = o.mode ?? "prefix";
    this.blockSize = o.blockSize;
    this.#maxEntries = o.maxEntries ?? 200_000;
    this.#busySlack = o.busySlack ?? 8;
    this.#busyRatio = o.busyRatio ?? 2;
    this.#kvLow = o.kvLowFraction ?? 0.05;
    this.#random = o.random ?? Math.random;
  }

  /** Full-block hashes of a prompt, chained like the runtime's, with `blockKeys` (block index → the digests of the
   * images in it, runtime/wire/image-keys.ts) as each block's extra key. */
  hashes(promptIds: readonly number[], blockKeys: BlockKeys = noKeys): BlockHash[] {
    const out: BlockHash[] = [];
    for (let i = 0; (i + 1) * this.blockSize <= promptIds.length; i++) {
      const tokens = promptIds.slice(i * this.blockSize, (i + 1) * this.blockSize);
      out.push(hashBlock(i === 0 ? null : out[i - 1], tokens, blockKeys(i)));
    }
    return out;
  }

  /** Picks a runtime among `candidates` (name → load); throws when there is none. */
  route(
    promptIds: readonly number[],
    candidates: ReadonlyMap<string, RuntimeLoad>,
    blockKeys: BlockKeys = noKeys,
  ): RoutingDecision {
    const names = [...candidates.keys()];
    if (names.length === 0) throw new RangeError("no runtime to route to");
    const hashes = this.mode === "prefix" ? this.hashes(promptIds, blockKeys) : [];
    if (this.mode === "random") {
      return { runtime: names[Math.floor(this.#random() * names.length)], reason: "random", prefixTokens: 0, hashes };
    }
    const leastLoaded = this.#leastLoaded(names, candidates);
    const { holders, blocks } = this.#longestPrefix(hashes, candidates);
    if (blocks === 0) return { runtime: leastLoaded, reason: "least_loaded", prefixTokens: 0, hashes };
    const best = this.#leastLoaded(holders, candidates);
    if (best !== leastLoaded && this.#muchBusier(candidates.get(best)!, candidates.get(leastLoaded)!)) {
      return { runtime: leastLoaded, reason: "load_override", prefixTokens: 0, hashes };
    }
    return { runtime: best, reason: "prefix", prefixTokens: blocks * this.blockSize, hashes };
  }

  /** Notes that `runtime` was sent a prompt with these block hashes (it will hold them once prefilled). */
  record(runtime: string, hashes: readonly BlockHash[]): void {
    // deepest block first, so a chain's root is its most recent entry and eviction trims chains from their tails
    for (let i = hashes.length - 1; i >= 0; i--) {
      const h = hashes[i];
      const set = this.#served.get(h) ?? new Set<string>();
      this.#served.delete(h);
      set.add(runtime);
      this.#served.set(h, set);
    }
    while (this.#served.size > this.#maxEntries) this.#served.delete(this.#served.keys().next().value!);
  }

  /** A runtime left (or restarted with an empty cache): forget what it held. */
  forget(runtime: string): void {
    for (const [h, set] of this.#served) {
      if (set.delete(runtime) && set.size === 0) this.#served.delete(h);
    }
  }

  get size(): number {
    return this.#served.size;
  }

  /** The runtimes that hold the longest chain of the prompt's blocks, and its length in blocks. */
  #longestPrefix(hashes: BlockHash[], candidates: ReadonlyMap<string, RuntimeLoad>) {
    let holders: string[] = [];
    let blocks = 0;
    for (const h of hashes) {
      const set = this.#served.get(h);
      const next = set ? [...set].filter((r) => candidates.has(r) && (blocks === 0 || holders.includes(r))) : [];
      if (next.length === 0) break;
      holders = next;
      blocks++;
    }
    return { holders, blocks };
  }

  #muchBusier(a: RuntimeLoad, b: RuntimeLoad): boolean {
    if (this.#kvFull(a) && !this.#kvFull(b)) return true;
    return a.queued >= b.queued + this.#busySlack && a.queued >= b.queued * this.#busyRatio;
  }

  #kvFull(l: RuntimeLoad): boolean {
    return l.kvBlocksTotal > 0 && l.kvBlocksFree < l.kvBlocksTotal * this.#kvLow;
  }

  /** Not KV-full first, then fewest queued, then most KV blocks free; a tie left after that rotates, so idle
   * runtimes share the work. */
  #leastLoaded(names: string[], candidates: ReadonlyMap<string, RuntimeLoad>): string {
    const rank = (l: RuntimeLoad) => [this.#kvFull(l) ? 1 : 0, l.queued, -l.kvBlocksFree];
    let tied: string[] = [];
    let bestRank: number[] = [Infinity];
    for (const n of names) {
      const r = rank(candidates.get(n)!);
      const i = r.findIndex((x, k) => x !== bestRank[k]);
      if (i === -1) tied.push(n);
      else if (r[i] < bestRank[i]) {
        tied = [n];
        bestRank = r;
      }
    }
    return tied.length === 1 ? tied[0] : tied[this.#ties++ % tied.length];
  }
}
