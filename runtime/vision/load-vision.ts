// Loads the vision tower's and projector's weights onto a backend, checking every tensor against the
// configuration. Two weights are rearranged once here so the forward needs no special kernels:
//  - patch_conv [hidden, C, p, p] is used as a linear [hidden, C·p²] (its bytes already are that matrix);
//  - merging_layer's columns go from channel-major to patch-major (see merge-order.ts).
// Native checkpoints' wq/wk rows are permuted from interleaved to rotate-half order, as for the decoder.
import { type Backend, DType, type WeightRef } from "../../ffi/backend.ts";
import type { Checkpoint } from "../weights/checkpoint.ts";
import { permuteInterleavedRows } from "../weights/names.ts";
import { type SafetensorsDType, safetensorsDTypeBytes, SafetensorsError } from "../weights/safetensors.ts";
import { permuteMergingColumns } from "./merge-order.ts";
import type { VisionConfig } from "./vision-config.ts";
import type { VisionLinearRole, VisionNameScheme } from "./vision-names.ts";

export interface VisionLayerWeights {
  attnNorm: WeightRef;
  q: WeightRef;
  k: WeightRef;
  v: WeightRef;
  o: WeightRef;
  ffnNorm: WeightRef;
  gate: WeightRef;
  up: WeightRef;
  down: WeightRef;
}

export interface VisionWeights {
  /** [hidden, 3·p²]: the patch convolution as a linear over flattened patches. */
  patchConv: WeightRef;
  lnPre: WeightRef;
  layers: VisionLayerWeights[];
  projectorNorm: WeightRef;
  /** [hidden, s²·hidden] with columns in patch-major order (k·hidden + ch). */
  merging: WeightRef;
  linear1: WeightRef;
  linear2: WeightRef;
  dispose(): void;
}

const dtypeOf: Partial<Record<SafetensorsDType, DType>> = { F32: DType.F32, F16: DType.F16, BF16: DType.BF16 };

class VisionLoader {
  readonly refs: WeightRef[] = [];
  constructor(readonly backend: Backend, readonly ckpt: Checkpoint) {}

  find(candidates: string[], what: string): string {
    const hit = candidates.find((n) => this.ckpt.has(n));
    if (!hit) {
      throw new SafetensorsError(
        this.ckpt.dir,
        `${what} is missing: none of ${candidates.join(", ")} is in the checkpoint`,
      );
    }
    return hit;
  }

  /** A float tensor of exactly `shape`; `rearrange` may return reordered bytes (same size). */
  load(
    candidates: string[],
    what: string,
    shape: number[],
    rearrange?: (bytes: Uint8Array, elementBytes: number) => Uint8Array,
  ): WeightRef {
    const name = this.find(candidates, what);
    const info = this.ckpt.info(name);
    const dtype = dtypeOf[info.dtype];
    if (dtype === undefined) {
      throw new SafetensorsError(
        info.file,
        `${name} has dtype ${info.dtype}; the vision tower and projector must be BF16, F16 or F32 (they are not quantized)`,
      );
    }
    if (info.shape.join(",") !== shape.join(",")) {
      throw new SafetensorsError(
        info.file,
        `${name} has shape [${info.shape}] but the vision config implies [${shape}]`,
      );
    }
    const elementBytes = safetensorsDTypeBytes[info.dtype];
    const buffer = this.ckpt.place(this.backend, name, rearrange && ((bytes) => rearrange(bytes, elementBytes)));
    const ref: WeightRef = { buffer, dtype, actScale: 0, weightScale: 1 };
    this.refs.push(ref);
    return ref;
  }

  /** A bias-free linear [outDim, inDim]; a bias tensor next to it is refused rather than ignored. */
  linear(
    bases: string[],
    what: string,
    outDim: number,
    inDim: number,
    rearrange?: (b: Uint8Array, e: number) => Uint8Array,
  ): WeightRef {
    const bias = bases.map((b) => `${b}.bias`).find((n) => this.ckpt.has(n));
    if (bias) {
      throw new SafetensorsError(this.ckpt.dir, `${bias} exists; gust's vision path has bias-free linears only`);
    }
    return this.load(bases.map((b) => `${b}.weight`), what, [outDim, inDim], rearrange);
  }
}

export function loadVisionWeights(
  backend: Backend,
  ckpt: Checkpoint,
  scheme: VisionNameScheme,
  c: VisionConfig,
): VisionWeights {
  const loader = new VisionLoader(backend, ckpt);
  const d = c.hiddenSize, s = c.spatialMergeSize;
  const qkPermute = (bytes: Uint8Array) =>
    scheme.interleavedQK ? permuteInterleavedRows(bytes, c.numHeads, c.headDim, bytes.byteLength / d) : bytes;
  const linear = (l: number, role: VisionLinearRole, outDim: number, inDim: number) =>
    loader.linear(
      scheme.linear(l, role),
      `vision layer ${l} ${role} weight`,
      outDim,
      inDim,
      role === "q" || role === "k" ? qkPermute : undefined,
    );
  try {
    const patchConv = loader.load(scheme.patchConv, "the patch convolution", [
      d,
      c.numChannels,
      c.patchSize,
      c.patchSize,
    ]);
    const lnPre = loader.load(scheme.lnPre, "ln_pre", [d]);
    const layers: VisionLayerWeights[] = [];
    for (let l = 0; l < c.numLayers; l++) {
      layers.push({
        attnNorm: loader.load(scheme.norm(l, "attnNorm"), `vision layer ${l} attention norm`, [d]),
        q: linear(l, "q", d, d),
        k: linear(l, "k", d, d),
        v: linear(l, "v", d, d),
        o: linear(l, "o", d, d),
        ffnNorm: loader.load(scheme.norm(l, "ffnNorm"), `vision layer ${l} FFN norm`, [d]),
        gate: linear(l, "gate", c.intermediateSize, d),
        up: linear(l, "up", c.intermediateSize, d),
        down: linear(l, "down", d, c.intermediateSize),
      });
    }
    const projectorNorm = loader.load(scheme.projectorNorm, "the projector norm", [d]);
    const merging = loader.linear(
      scheme.merging,
      "the patch merger's merging_layer",
      d,
      d * s * s,
      (bytes, e) => permuteMergingColumns(bytes, d, d, s, e),
    );
    const linear1 = loader.linear(scheme.linear1, "the projector's linear_1", c.textHiddenSize, d);
    const linear2 = loader.linear(scheme.linear2, "the projector's linear_2", c.textHiddenSize, c.textHiddenSize);
    return {
      patchConv,
      lnPre,
      layers,
      projectorNorm,
      merging,
      linear1,
      linear2,
      dispose: () => loader.refs.forEach((w) => w.buffer.dispose()),
    };
  } catch (err) {
    loader.refs.forEach((w) => w.buffer.dispose());
    throw err;
  }
}
