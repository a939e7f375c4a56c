// Pure parts of tensor parallelism: the step descriptor survives encoding, weight slices cut the right bytes,
// a rank's shape, and a device count short of N refused with the sizes that fit.
import { describe, expect, it } from "vitest";
import type { ForwardBatch } from "../../runtime/model/batch.ts";
import { checkDeviceCount, rankShape, rankSlices, shardLayout } from "../../runtime/parallel/layout.ts";
import { decodeStep, encodeStep } from "../../runtime/parallel/step-channel.ts";
import { sliceMatrix } from "../../runtime/weights/load-text.ts";

const medium = { numHeads: 96, numKvHeads: 8, headDim: 128, intermediateSize: 28672, vocabSize: 131072 };

describe("step descriptor", () => {
  it("round-trips a batch with images, input embeddings and hidden rows; the doc example's words are exact", () => {
    const batch: ForwardBatch = {
      tokenIds: Int32Array.of(1, 10, 10, 12),
      positions: Int32Array.of(0, 1, 2, 3),
      slots: Int32Array.of(28, 29, 30, 31),
      queryStarts: Int32Array.of(0, 4),
      contextLens: Int32Array.of(4),
      blockTables: Int32Array.of(7),
      maxBlocksPerSeq: 1,
      logitRows: Int32Array.of(3),
      hiddenRows: Int32Array.of(0, 1, 2, 3),
      imageEmbeddings: { rows: Int32Array.of(1, 2), values: Float32Array.of(0.5, -1, 2.25, 3) },
      inputEmbeddings: Float32Array.from({ length: 8 }, (_, i) => i / 3),
    };
    expect(decodeStep(encodeStep({ modelId: 1, cacheId: 7, numBlocks: 64, blockSize: 4, kvDtype: "bf16", batch })))
      .toEqual({
        modelId: 1,
        cacheId: 7,
        numBlocks: 64,
        blockSize: 4,
        kvDtype: "bf16",
        batch,
      });
    const decode: ForwardBatch = {
      tokenIds: Int32Array.of(7),
      positions: Int32Array.of(3),
      slots: Int32Array.of(11),
      queryStarts: Int32Array.of(0, 1),
      contextLens: Int32Array.of(4),
      blockTables: Int32Array.of(2),
      maxBlocksPerSeq: 1,
      logitRows: Int32Array.of(0),
    };
    expect(
      Array.from(encodeStep({ modelId: 0, cacheId: 1, numBlocks: 512, blockSize: 4, kvDtype: "f32", batch: decode })),
    ).toEqual(
      [0, 1, 512, 4, 1, 0, 1, 7, 1, 3, 1, 11, 2, 0, 1, 1, 4, 1, 2, 1, 0, 0, 0, 0, 0],
    );
  });
});

describe("weight slices", () => {
  it("rows are a view of the file; columns are gathered row by row (the comment's [4, 6] bf16 example)", () => {
    const bytes = Uint8Array.from({ length: 48 }, (_, i) => i); // [4, 6] bf16: 12-byte rows
    const rows = sliceMatrix(bytes, 4, 6, { rows: { start: 1, end: 3 } });
    expect(Array.from(rows)).toEqual(Array.from({ length: 24 }, (_, i) => 12 + i));
    expect(rows.buffer).toBe(bytes.buffer);
    const cols = sliceMatrix(bytes, 4, 6, { cols: { start: 2, end: 5 } });
    expect(Array.from(cols.subarray(0, 6))).toEqual([4, 5, 6, 7, 8, 9]);
    expect(Array.from(cols.subarray(18))).toEqual([40, 41, 42, 43, 44, 45]);
  });

  it("a rank's shape has its head counts and FFN width; the FFN ranges tile the whole width", () => {
    const odd = { ...medium, numHeads: 6, numKvHeads: 3, intermediateSize: 100, hiddenSize: 48 };
    const l = shardLayout(odd, 3);
    const widths = [0, 1, 2].map((r) => rankShape(odd, l, rankSlices(odd, l, r)).intermediateSize);
    expect(widths).toEqual([33, 33, 34]);
    expect(rankShape(odd, l, rankSlices(odd, l, 2))).toMatchObject({ numHeads: 2, numKvHeads: 1, hiddenSize: 48 });
  });
});

describe("devices", () => {
  it("refuses more ranks than visible GPUs, naming the sizes that fit; 0 devices means no limit (CPU)", () => {
    expect(() => checkDeviceCount(medium, 8, 4)).toThrow(
      /tensor-parallel size 8 needs 8 devices \(one per rank\) but 4 are visible; sizes that fit: 1, 2, 4/,
    );
    expect(() => checkDeviceCount(medium, 4, 4)).not.toThrow();
    expect(() => checkDeviceCount(medium, 8, 0)).not.toThrow();
  });
});
