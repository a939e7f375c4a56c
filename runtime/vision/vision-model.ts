// The Pixtral vision tower and the Mistral3 projector (model-spec §4.2, §4.3) on the kernels:
//   patches (normalised RGB, runtime side) → patch conv (a linear) → ln_pre → L × (RMSNorm → Q/K/V →
//   2-D RoPE → attention within each image → O → residual → RMSNorm → gated SiLU MLP → residual)
//   → projector: RMSNorm → 2×2 patch merger (row gather + merging_layer) → linear_1 → GELU → linear_2.
// Any number of images run as one sequence of patches, the attention kept block-diagonal per image, so
// images of one request and of several requests batch into a single call.
import type { Backend, DeviceBuffer } from "../../ffi/backend.ts";
import type { VisionWeights } from "./load-vision.ts";
import { mergerSourceRows } from "./merge-order.ts";
import { type RgbImage, writePatches } from "./pixels.ts";
import { patchPositions, visionRopeTables } from "./rope-2d.ts";
import type { VisionConfig } from "./vision-config.ts";
import { groupStarts, maxPatchesPerGroup, VISION_CHUNK_ROWS } from "./vision-memory.ts";

export type { RgbImage } from "./pixels.ts";

export interface ImageGrid {
  /** Merged-token grid: rows × cols [IMG] tokens (height / (patch·merge) × width / (patch·merge)). */
  rows: number;
  cols: number;
  /** First row of this image's features in the output. */
  offset: number;
}

export interface VisionOutput {
  /** [Σ rows·cols, textHiddenSize]: one decoder-width vector per [IMG] token, images in order, raster order within. */
  features: Float32Array;
  /** Width of a feature row (the decoder's hidden size). */
  hidden: number;
  images: ImageGrid[];
}

export interface VisionEncodeOptions {
  /** Receives the encoder stream after ln_pre ("ln_pre"), after each layer ("layer.i") and the merged
   *  tokens before linear_1 ("merged"). For tests and diagnostics. */
  onHidden?: (stage: string, values: Float32Array) => void;
}

export class VisionModel {
  readonly #cos: DeviceBuffer;
  readonly #sin: DeviceBuffer;
  readonly #tableLen: number;

  constructor(
    readonly backend: Backend,
    readonly config: VisionConfig,
    readonly weights: VisionWeights,
    /** Rows of the wide row-wise stages run at once (vision-memory.ts); tests pass a few to cut small images. */
    readonly chunkRows = VISION_CHUNK_ROWS,
  ) {
    const t = visionRopeTables(config.headDim, config.ropeTheta, config.maxPatchesPerSide);
    this.#cos = backend.fromHost(t.cos);
    this.#sin = backend.fromHost(t.sin);
    this.#tableLen = t.length;
  }

  /** Pixel size an image must have: both sides multiples of patch · merge, neither above image_size. */
  checkImage(img: RgbImage, index: number): void {
    const c = this.config, cell = c.patchSize * c.spatialMergeSize;
    const { height: h, width: w } = img;
    if (!(Number.isInteger(h) && Number.isInteger(w) && h > 0 && w > 0)) {
      throw new RangeError(`Image ${index} has size ${w}×${h}; width and height must be positive integers`);
    }
    if (h % cell !== 0 || w % cell !== 0) {
      throw new RangeError(
        `Image ${index} is ${w}×${h} pixels; both sides must be multiples of ${cell} (patch ${c.patchSize} × merge ${c.spatialMergeSize}). Resize it first (model-spec §4.4; the gateway's vision() middleware does).`,
      );
    }
    if (h > c.imageSize || w > c.imageSize) {
      throw new RangeError(
        `Image ${index} is ${w}×${h} pixels; the vision tower takes at most ${c.imageSize} per side. Downscale it first (model-spec §4.4).`,
      );
    }
    if (img.rgb.length !== h * w * 3) {
      throw new RangeError(`Image ${index} has ${img.rgb.length} bytes; ${w}×${h} RGB needs ${h * w * 3}`);
    }
  }

  /** Merged-token grid of an image of this size (its [IMG] layout: rows of cols tokens). */
  gridOf(height: number, width: number): { rows: number; cols: number } {
    const cell = this.config.patchSize * this.config.spatialMergeSize;
    return { rows: height / cell, cols: width / cell };
  }

  encode(images: RgbImage[], options: VisionEncodeOptions = {}): VisionOutput {
    const c = this.config, p = c.patchSize;
    images.forEach((img, i) => this.checkImage(img, i));
    const grids: ImageGrid[] = [];
    let numMerged = 0;
    for (const img of images) {
      const g = this.gridOf(img.height, img.width);
      grids.push({ ...g, offset: numMerged });
      numMerged += g.rows * g.cols;
    }
    const features = new Float32Array(numMerged * c.textHiddenSize);
    // groups of at most one full-size image's patches keep the call's memory bounded (vision-memory.ts)
    const patchCounts = images.map((img) => (img.height / p) * (img.width / p));
    const starts = groupStarts(patchCounts, maxPatchesPerGroup(c));
    for (let g = 0; g + 1 < starts.length; g++) {
      const first = starts[g], end = starts[g + 1];
      const out = features.subarray(grids[first].offset * c.textHiddenSize);
      this.#encodeGroup(images.slice(first, end), out, options);
    }
    return { features, hidden: c.textHiddenSize, images: grids };
  }

  /** Runs one group of images through the tower and projector; writes their feature rows to `features`. */
  #encodeGroup(images: RgbImage[], features: Float32Array, options: VisionEncodeOptions): void {
    const c = this.config, b = this.backend, w = this.weights;
    const p = c.patchSize, s = c.spatialMergeSize, d = c.hiddenSize, patchLen = c.numChannels * p * p;
    const segmentStarts = new Int32Array(images.length + 1);
    images.forEach((img, i) => segmentStarts[i + 1] = segmentStarts[i] + (img.height / p) * (img.width / p));
    const T = segmentStarts[images.length], M = T / (s * s), F = c.intermediateSize, E = c.textHiddenSize;
    const chunk = this.chunkRows;

    // host side: patch rows, rotary positions and merger order, all in image order
    const patches = new Float32Array(T * patchLen);
    const positions = new Int32Array(T), mergeRows = new Int32Array(T);
    images.forEach((img, i) => {
      const rows = img.height / p, cols = img.width / p, first = segmentStarts[i];
      writePatches(img, p, patches, first);
      patchPositions(rows, cols, c.maxPatchesPerSide, positions, first);
      mergeRows.set(mergerSourceRows(rows, cols, s, first), first);
    });
    // sized for the most images a group of T patches can hold, so a group's bytes depend on T alone
    const startsHost = new Int32Array(M + 1);
    startsHost.set(segmentStarts);

    // every buffer below is counted by visionGroupBytes (vision-memory.ts)
    using patchBuf = b.fromHost(patches);
    using posBuf = b.fromHost(positions);
    using startsBuf = b.fromHost(startsHost);
    using mergeBuf = b.fromHost(mergeRows);
    using x = b.alloc(T * d * 4);
    using normed = b.alloc(T * d * 4);
    using q = b.alloc(T * d * 4);
    using k = b.alloc(T * d * 4);
    using v = b.alloc(T * d * 4);
    using attn = b.alloc(T * d * 4);
    using gate = b.alloc(Math.min(chunk, T) * F * 4);
    using up = b.alloc(Math.min(chunk, T) * F * 4);
    using merged = b.alloc(M * d * 4);
    using hiddenBuf = b.alloc(Math.min(chunk, M) * E * 4);
    using out = b.alloc(Math.min(chunk, M) * E * 4);
    const report = (stage: string, buf: DeviceBuffer, n: number) =>
      options.onHidden?.(stage, b.download(buf, new Float32Array(n)));

    b.linear(normed, patchBuf, w.patchConv, T, d, patchLen);
    b.rmsnorm(x, normed, w.lnPre, T, d, c.normEps);
    report("ln_pre", x, T * d);
    for (let l = 0; l < c.numLayers; l++) {
      const lw = w.layers[l];
      b.rmsnorm(normed, x, lw.attnNorm, T, d, c.normEps);
      b.linear(q, normed, lw.q, T, d, d);
      b.linear(k, normed, lw.k, T, d, d);
      b.linear(v, normed, lw.v, T, d, d);
      b.rope(q, posBuf, this.#cos, this.#sin, T, c.numHeads, c.headDim, this.#tableLen);
      b.rope(k, posBuf, this.#cos, this.#sin, T, c.numHeads, c.headDim, this.#tableLen);
      b.segmentAttention({
        out: attn,
        q,
        k,
        v,
        segmentStarts: startsBuf,
        numSegments: images.length,
        numTokens: T,
        numHeads: c.numHeads,
        numKvHeads: c.numHeads,
        headDim: c.headDim,
        scale: 1 / Math.sqrt(c.headDim),
      });
      b.linear(normed, attn, lw.o, T, d, d);
      b.add(x, x, normed, T * d);
      b.rmsnorm(normed, x, lw.ffnNorm, T, d, c.normEps);
      // the MLP chunk by chunk: q and k are free until the next layer and stage each chunk's input and output
      this.#byChunks(normed, T, d, q, k, (src, dst, rows) => {
        b.linear(gate, src, lw.gate, rows, F, d);
        b.linear(up, src, lw.up, rows, F, d);
        b.siluMul(gate, gate, up, rows * F);
        b.linear(dst, gate, lw.down, rows, d, F);
      });
      b.add(x, x, normed, T * d);
      report(`layer.${l}`, x, T * d);
    }

    // projector: the RMSNorm runs per patch, then each s×s block becomes one row of s²·d values
    b.rmsnorm(normed, x, w.projectorNorm, T, d, c.projectorNormEps);
    b.gatherRows(attn, normed, mergeBuf, T, d, T); // [T, d] viewed as [M, s²·d]
    b.linear(merged, attn, w.merging, M, d, d * s * s);
    report("merged", merged, M * d);
    // linear_1 → GELU → linear_2 by chunks of merged rows, each staged in q when there is more than one
    for (let first = 0; first < M; first += chunk) {
      const rows = Math.min(chunk, M - first), staged = M > chunk;
      if (staged) b.copy(q, 0, merged, first * d * 4, rows * d * 4);
      b.linear(hiddenBuf, staged ? q : merged, w.linear1, rows, E, d);
      b.gelu(hiddenBuf, hiddenBuf, rows * E);
      b.linear(out, hiddenBuf, w.linear2, rows, E, E);
      b.download(out, features.subarray(first * E, (first + rows) * E));
    }
  }

  /**
   * Runs a row-wise stage over `buf` [numRows, width] in place, at most chunkRows rows at a time: each chunk is
   * copied to `stageIn`, `run` writes its result to `stageOut`, which is copied back. One chunk needs no copies.
   * Example: 2,500 rows in chunks of 1024 → rows 0..1023, 1024..2047, 2048..2499.
   */
  #byChunks(
    buf: DeviceBuffer,
    numRows: number,
    width: number,
    stageIn: DeviceBuffer,
    stageOut: DeviceBuffer,
    run: (src: DeviceBuffer, dst: DeviceBuffer, rows: number) => void,
  ): void {
    if (numRows <= this.chunkRows) return run(buf, buf, numRows);
    for (let first = 0; first < numRows; first += this.chunkRows) {
      const rows = Math.min(this.chunkRows, numRows - first), bytes = rows * width * 4, at = first * width * 4;
      this.backend.copy(stageIn, 0, buf, at, bytes);
      run(stageIn, stageOut, rows);
      this.backend.copy(buf, at, stageOut, 0, bytes);
    }
  }

  dispose(): void {
    this.#cos.dispose();
    this.#sin.dispose();
  }
}
