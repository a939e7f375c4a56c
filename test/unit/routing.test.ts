// The pool's routing policy (edge/runtime-pool/routing.ts) without sockets: prefix affinity, load override, ties,
// runtimes joining and leaving, and the bound on its map.
import { describe, expect, it } from "vitest";
import { PrefixRouter, type RuntimeLoad } from "../../edge/runtime-pool/routing.ts";
import { hashBlock } from "../../runtime/wire/block-hash.ts";

const idle: RuntimeLoad = { queued: 0, kvBlocksFree: 100, kvBlocksTotal: 100 };
const loads = (entries: Record<string, Partial<RuntimeLoad>>) =>
  new Map(Object.entries(entries).map(([k, v]) => [k, { ...idle, ...v }]));
const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

/** Routes and records, as the pool does once the request is sent. */
function send(router: PrefixRouter, prompt: number[], candidates: Map<string, RuntimeLoad>) {
  const d = router.route(prompt, candidates);
  router.record(d.runtime, d.hashes);
  return d;
}

describe("prefix router", () => {
  it("hashes full blocks exactly as the runtime's block hash chains them", () => {
    const r = new PrefixRouter({ blockSize: 4 });
    const h0 = hashBlock(null, [1, 5, 9, 2]);
    expect(r.hashes([1, 5, 9, 2, 7, 7, 3, 8, 4])).toEqual([h0, hashBlock(h0, [7, 7, 3, 8])]);
    expect(r.hashes([1, 2, 3])).toEqual([]);
  });

  it("sends a conversation's next turn where its history was served (prefix affinity)", () => {
    const r = new PrefixRouter({ blockSize: 4 });
    const all = loads({ a: {}, b: {}, c: {} });
    const turn1 = range(100, 9);
    const first = send(r, turn1, all);
    expect(first.reason).toBe("least_loaded");
    // other conversations in between do not move it
    for (let i = 0; i < 5; i++) send(r, range(1000 * (i + 1), 9), all);
    const turn2 = [...turn1, ...range(500, 7)];
    const second = send(r, turn2, all);
    expect(second).toMatchObject({ runtime: first.runtime, reason: "prefix", prefixTokens: 8 });
    const third = r.route([...turn2, 1, 2, 3], all);
    expect(third).toMatchObject({ runtime: first.runtime, reason: "prefix", prefixTokens: 16 });
  });

  it("prefers the longest prefix, and the less loaded of runtimes holding the same length", () => {
    const r = new PrefixRouter({ blockSize: 2 });
    const all = loads({ a: {}, b: {}, c: {} });
    r.record("a", r.hashes([1, 2]));
    r.record("b", r.hashes([1, 2, 3, 4, 5, 6]));
    r.record("c", r.hashes([1, 2, 3, 4]));
    expect(r.route([1, 2, 3, 4, 5, 6, 7], all)).toMatchObject({ runtime: "b", prefixTokens: 6 });
    const busyB = loads({ a: {}, b: { queued: 3 }, c: { queued: 1 } });
    expect(r.route([1, 2, 3, 4, 9], busyB)).toMatchObject({ runtime: "c", reason: "prefix", prefixTokens: 4 });
  });

  it("overrides affinity when the holder is much busier, not when it is a little busier", () => {
    const r = new PrefixRouter({ blockSize: 4, busySlack: 8, busyRatio: 2 });
    r.record("a", r.hashes(range(0, 8)));
    const prompt = range(0, 12);
    expect(r.route(prompt, loads({ a: { queued: 9 }, b: { queued: 2 } })).runtime).toBe("a"); // 9 < 2 + 8
    expect(r.route(prompt, loads({ a: { queued: 3 }, b: { queued: 0 } })).runtime).toBe("a"); // 3 < 0 + 8
    expect(r.route(prompt, loads({ a: { queued: 12 }, b: { queued: 2 } }))).toMatchObject({
      runtime: "b",
      reason: "load_override",
      prefixTokens: 0,
    });
    // a KV pool nearly full would evict the prefix we hoped to hit
    expect(r.route(prompt, loads({ a: { kvBlocksFree: 2 }, b: { queued: 1 } })).reason).toBe("load_override");
  });

  it("without a prefix: least queued first, then most KV free, and exact ties rotate", () => {
    const r = new PrefixRouter({ blockSize: 4 });
    expect(r.route([1], loads({ a: { queued: 2 }, b: { queued: 1 }, c: { queued: 3 } })).runtime).toBe("b");
    expect(r.route([1], loads({ a: { kvBlocksFree: 10 }, b: { kvBlocksFree: 50 } })).runtime).toBe("b");
    const tied = loads({ a: {}, b: {}, c: {} });
    const picks = range(0, 6).map(() => r.route([1], tied).runtime);
    expect(new Set(picks)).toEqual(new Set(["a", "b", "c"]));
    expect(picks.slice(0, 3)).toEqual(picks.slice(3));
  });

  it("a runtime that leaves is never chosen and is forgotten; one that joins takes new work", () => {
    const r = new PrefixRouter({ blockSize: 4 });
    const prompt = range(0, 9);
    send(r, prompt, loads({ a: {} }));
    expect(r.route(prompt, loads({ a: {}, b: {} })).runtime).toBe("a");
    // a disconnects: it is no candidate any more, so its prefix does not count
    expect(r.route(prompt, loads({ b: {} }))).toMatchObject({ runtime: "b", reason: "least_loaded" });
    r.forget("a");
    expect(r.size).toBe(0);
    // a rejoins with an empty cache: a fresh prompt goes to the less loaded of the two
    expect(r.route(range(50, 9), loads({ a: {}, b: { queued: 1 } })).runtime).toBe("a");
    expect(() => r.route(prompt, new Map())).toThrow(/no runtime/);
  });

  it("keeps at most maxEntries hashes, dropping the least recently used", () => {
    const r = new PrefixRouter({ blockSize: 1, maxEntries: 4 });
    r.record("a", r.hashes([1, 2, 3]));
    r.record("b", r.hashes([9, 8]));
    expect(r.size).toBe(4); // the tail of the first chain ([1 2 3]) went, its root stays
    expect(r.route([1, 2, 3], loads({ a: {}, b: { queued: 0, kvBlocksFree: 200 } }))).toMatchObject({
      runtime: "a",
      prefixTokens: 2,
    });
  });

  it("random mode spreads over every candidate and ignores prefixes", () => {
    let seed = 7;
    const r = new PrefixRouter({
      blockSize: 4,
      mode: "random",
      random: () => (seed = (seed * 48271) % 2147483647) / 2147483647,
    });
    const all = loads({ a: {}, b: {}, c: {} });
    const picks = range(0, 60).map(() => send(r, range(0, 9), all));
    expect(new Set(picks.map((p) => p.runtime))).toEqual(new Set(["a", "b", "c"]));
    expect(picks.every((p) => p.reason === "random")).toBe(true);
  });
});
