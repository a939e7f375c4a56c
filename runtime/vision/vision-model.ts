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

  constructor(readonly backend: Backend, readonly config: VisionConfig, readonly weights: VisionWeights) {
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
    const c = this.config, b = this.backend, w = this.weights;
    const p = c.patchSize, s = c.spatialMergeSize, d = c.hiddenSize, patchLen = c.numChannels * p * p;
    images.forEach((img, i) => this.checkImage(img, i));
    const grids: ImageGrid[] = [];
    const segmentStarts = new Int32Array(images.length + 1);
    let numPatches = 0, numMerged = 0;
    for (const [i, img] of images.entries()) {
      const g = this.gridOf(img.height, img.width);
      grids.push({ ...g, offset: numMerged });
      numMerged += g.rows * g.cols;
      numPatches += (img.height / p) * (img.width / p);
      segmentStarts[i + 1] = numPatches;
    }
    if (images.length === 0) return { features: new Float32Array(0), hidden: c.textHiddenSize, images: [] };

    // host side: patch rows, rotary positions and merger order, all in image order
    const patches = new Float32Array(numPatches * patchLen);
    const positions = new Int32Array(numPatches), mergeRows = new Int32Array(numPatches);
    images.forEach((img, i) => {
      const rows = img.height / p, cols = img.width / p, first = segmentStarts[i];
      writePatches(img, p, patches, first);
      patchPositions(rows, cols, c.maxPatchesPerSide, positions, first);
      mergeRows.set(mergerSourceRows(rows, cols, s, first), first);
    });

    const T = numPatches, M = numMerged, F = c.intermediateSize, E = c.textHiddenSize;
    using patchBuf = b.fromHost(patches);
    using posBuf = b.fromHost(positions);
    using startsBuf = b.fromHost(segmentStarts);
    using mergeBuf = b.fromHost(mergeRows);
    using x = b.alloc(T * d * 4);
    using normed = b.alloc(T * d * 4);
    using q = b.alloc(T * d * 4);
    using k = b.alloc(T * d * 4);
    using v = b.alloc(T * d * 4);
    using attn = b.alloc(T * d * 4);
    using gate = b.alloc(T * F * 4);
    using up = b.alloc(T * F * 4);
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
      b.linear(gate, normed, lw.gate, T, F, d);
      b.linear(up, normed, lw.up, T, F, d);
      b.siluMul(gate, gate, up, T * F);
      b.linear(normed, gate, lw.down, T, d, F);
      b.add(x, x, normed, T * d);
      report(`layer.${l}`, x, T * d);
    }

    // projector: the RMSNorm runs per patch, then each s×s block becomes one row of s²·d values
    b.rmsnorm(normed, x, w.projectorNorm, T, d, c.projectorNormEps);
    b.gatherRows(attn, normed, mergeBuf, T, d, T); // [T, d] viewed as [M, s²·d]
    using merged = b.alloc(M * d * 4);
    b.linear(merged, attn, w.merging, M, d, d * s * s);
    report("merged", merged, M * d);
    using hiddenBuf = b.alloc(M * E * 4);
    using out = b.alloc(M * E * 4);
    b.linear(hiddenBuf, merged, w.linear1, M, E, d);
    b.gelu(hiddenBuf, hiddenBuf, M * E);
    b.linear(out, hiddenBuf, w.linear2, M, E, E);
    return { features: b.download(out, new Float32Array(M * E)), hidden: E, images: grids };
  }

  dispose(): void {
    this.#cos.dispose();
    this.#sin.dispose();
  }
}
