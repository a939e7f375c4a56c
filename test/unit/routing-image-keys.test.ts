// The gateway's routing hashes of prompts with images (edge/runtime-pool/routing.ts) against the runtime's prefix
// cache keys (runtime/server/images.ts → its BlockManager): the same ids and pixels give the same chain on both
// sides; other pixels behind the same ids give another chain from the image's first block on.
import { describe, expect, it } from "vitest";
import { imageBlockKeysOf, PrefixRouter, type RuntimeLoad } from "../../edge/runtime-pool/routing.ts";
import { DEFAULTS } from "../../edge/vision/options.ts";
import { type PreparedImage, prepareImage } from "../../edge/vision/prepare.ts";
import { BlockManager } from "../../runtime/engine/block-manager.ts";
import type { Sequence } from "../../runtime/engine/sequence.ts";
import { imageBlocksKeyed } from "../../runtime/server/images.ts";
import type { VisionConfig } from "../../runtime/vision/vision-config.ts";
import { imageDigest } from "../../runtime/wire/image-keys.ts";
import { makeImage } from "../vision/helpers.ts";

const tokenIds = { img: 10, imgBreak: 12, imgEnd: 13 };
const vision = { imageTokenId: 10, imageBreakId: 12, imageEndId: 13 } as VisionConfig;
const BLOCK = 4;
// block 0 text, blocks 1–2 hold the 2×2 image run (5 [IMG] [IMG] [IMG_BREAK] | [IMG] [IMG] [IMG_END] 6), block 3
// text after it (chained to the image blocks), then a partial block
const ids = [1, 2, 3, 4, 5, 10, 10, 12, 10, 10, 13, 6, 7, 8, 9, 11, 14];

/** What the runtime keys this prompt's full blocks by, given the pixels it received. */
function runtimeChain(images: PreparedImage[]): string[] {
  const blocks = new BlockManager(64, BLOCK);
  const seq = { tokens: ids, blockHashes: [], blockExtraKey: imageBlocksKeyed(ids, images, vision, BLOCK) };
  return [0, 1, 2, 3].map((i) => blocks.hashAt(seq as unknown as Sequence, i));
}

/** An image as the gateway prepares it for a chat request (decoded, resized to 56 × 56: a 2 × 2 token grid). */
const prepared = async (seed: number) => prepareImage(await makeImage(56, 56, "png", { seed }), DEFAULTS);

describe("routing hashes of prompts with images", () => {
  it("equal the runtime's prefix-cache chain for the same ids and pixels", async () => {
    const a = await prepared(0);
    expect([a.cols, a.rows]).toEqual([2, 2]);
    expect(a.hash).toBe(imageDigest(a)); // the renderer's hash is the runtime's digest of the same pixels
    const router = new PrefixRouter({ blockSize: BLOCK });
    const gateway = router.hashes(ids, imageBlockKeysOf({ promptIds: ids, images: [a] }, tokenIds, BLOCK));
    expect(gateway).toEqual(runtimeChain([a]));
    expect(gateway).not.toEqual(router.hashes(ids)); // the image blocks are keyed, not hashed as bare ids
  });

  it("differ from the image's first block on when the pixels differ, so routing does not claim that prefix", async () => {
    const [a, b] = [await prepared(0), await prepared(1)];
    expect(b.hash).not.toBe(a.hash);
    const router = new PrefixRouter({ blockSize: BLOCK });
    const chain = (img: PreparedImage) =>
      router.hashes(ids, imageBlockKeysOf({ promptIds: ids, images: [img] }, tokenIds, BLOCK));
    const [ca, cb] = [chain(a), chain(b)];
    expect(cb).toEqual(runtimeChain([b]));
    expect(cb[0]).toBe(ca[0]); // the text before the image is shared
    for (let i = 1; i < 4; i++) expect(cb[i]).not.toBe(ca[i]);

    const idle: RuntimeLoad = { queued: 0, kvBlocksFree: 100, kvBlocksTotal: 100 };
    const both = new Map([["r1", idle], ["r2", idle]]);
    const keysOf = (img: PreparedImage) => imageBlockKeysOf({ promptIds: ids, images: [img] }, tokenIds, BLOCK);
    router.record("r1", router.route(ids, both, keysOf(a)).hashes);
    expect(router.route(ids, both, keysOf(a))).toMatchObject({ runtime: "r1", reason: "prefix", prefixTokens: 16 });
    expect(router.route(ids, both, keysOf(b)).prefixTokens).toBe(4); // only block 0: r1 does not hold b's blocks
  });

  it("has no image keys for a text prompt, a runtime without vision, or runs the images do not match", async () => {
    const a = await prepared(0);
    expect(imageBlockKeysOf({ promptIds: ids }, tokenIds, BLOCK)).toBeUndefined();
    expect(imageBlockKeysOf({ promptIds: ids, images: [a] }, undefined, BLOCK)).toBeUndefined();
    expect(imageBlockKeysOf({ promptIds: ids, images: [a, a] }, tokenIds, BLOCK)).toBeUndefined();
    expect(imageBlockKeysOf({ promptIds: [1, 12, 3], images: [a] }, tokenIds, BLOCK)).toBeUndefined();
  });
});
