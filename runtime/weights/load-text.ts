// Loads the decoder's weights onto a backend, checking every tensor against the configuration.
import { type Backend, DType, type WeightRef } from "../../ffi/backend.ts";
import type { TextConfig } from "../config/text-config.ts";
import type { Range, RankSlices } from "../parallel/layout.ts";
import { type LinearRole, type NameScheme, permuteInterleavedRows } from "./names.ts";
import { type SafetensorsDType, SafetensorsError } from "./safetensors.ts";
import type { TensorSource } from "./tensor-source.ts";

export interface LayerWeights {
  attnNorm: WeightRef;
  q: WeightRef;
  k: WeightRef;
  v: WeightRef;
  o: WeightRef;
  mlpNorm: WeightRef;
  gate: WeightRef;
  up: WeightRef;
  down: WeightRef;
}

export interface TextWeights {
  embed: WeightRef;
  lmHead: WeightRef;
  finalNorm: WeightRef;
  layers: LayerWeights[];
  /** Bytes of weight data the decoder streams per forward (for bandwidth figures). */
  decoderBytes: number;
  /** Bytes of weight data this rank holds (what the KV pool is sized after). */
  loadedBytes: number;
  dispose(): void;
}

export interface LoadProgress {
  loadedBytes: number;
  totalBytes: number;
  tensor: string;
}

/** The part of a row-major [rows, cols] weight a tensor-parallel rank keeps. */
export type WeightSlice = { rows: Range } | { cols: Range };

/** Rows are a contiguous run of the file (no copy); columns are gathered row by row.
 *  Example: [4, 6] bf16 (12-byte rows), cols {start 2, end 5} → bytes 4..9 of each row, 24 bytes. */
export function sliceMatrix(bytes: Uint8Array, rows: number, cols: number, slice: WeightSlice): Uint8Array {
  const elementBytes = bytes.byteLength / (rows * cols), rowBytes = cols * elementBytes;
  if ("rows" in slice) return bytes.subarray(slice.rows.start * rowBytes, slice.rows.end * rowBytes);
  const width = (slice.cols.end - slice.cols.start) * elementBytes, from = slice.cols.start * elementBytes;
  const out = new Uint8Array(rows * width);
  for (let r = 0; r < rows; r++) out.set(bytes.subarray(r * rowBytes + from, r * rowBytes + from + width), r * width);
  return out;
}

const dtypeOf: Partial<Record<SafetensorsDType, DType>> = {
  F32: DType.F32,
  F16: DType.F16,
  BF16: DType.BF16,
  F8_E4M3: DType.F8_E4M3,
};

class TextLoader {
  readonly buffers: WeightRef[] = [];
  loadedBytes = 0;
  decoderBytes = 0;

  constructor(
    readonly backend: Backend,
    readonly ckpt: TensorSource,
    readonly scheme: NameScheme,
    readonly config: TextConfig,
    readonly onProgress?: (p: LoadProgress) => void,
  ) {}

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

  upload(name: string, dtype: DType, prepare?: (bytes: Uint8Array) => Uint8Array, actScale = 0, weightScale = 1) {
    const buffer = this.ckpt.place(this.backend, name, prepare);
    const ref: WeightRef = { buffer, dtype, actScale, weightScale };
    this.buffers.push(ref);
    this.loadedBytes += buffer.byteLength;
    this.onProgress?.({ loadedBytes: this.loadedBytes, totalBytes: this.ckpt.totalBytes, tensor: name });
    return ref;
  }

  /** A 1-D or 2-D float tensor with an exact expected shape (norms, embeddings, lm_head). */
  plain(candidates: string[], what: string, shape: number[], rows?: Range): WeightRef {
    const name = this.find(candidates, what);
    const info = this.ckpt.info(name);
    const dtype = dtypeOf[info.dtype];
    if (dtype === undefined || dtype === DType.F8_E4M3) {
      throw new SafetensorsError(info.file, `${name} has dtype ${info.dtype}; ${what} must be BF16, F16 or F32`);
    }
    if (info.shape.join(",") !== shape.join(",")) {
      throw new SafetensorsError(info.file, `${name} has shape [${info.shape}] but the config implies [${shape}]`);
    }
    return this.upload(name, dtype, rows && ((bytes) => sliceMatrix(bytes, shape[0], shape[1], { rows })));
  }

  linear(
    layer: number,
    role: LinearRole,
    outDim: number,
    inDim: number,
    permuteHeads = 0,
    slice?: WeightSlice,
  ): WeightRef {
    const base = this.find(this.scheme.linear(layer, role).map((b) => `${b}.weight`), `layer ${layer} ${role} weight`)
      .slice(0, -".weight".length);
    const name = `${base}.weight`;
    const info = this.ckpt.info(name);
    const dtype = dtypeOf[info.dtype];
    if (dtype === undefined) {
      throw new SafetensorsError(
        info.file,
        `${name} has dtype ${info.dtype}; linears must be BF16, F16, F32 or F8_E4M3`,
      );
    }
    if (info.shape.join(",") !== `${outDim},${inDim}`) {
      throw new SafetensorsError(
        info.file,
        `${name} has shape [${info.shape}] but the config implies [${outDim}, ${inDim}]`,
      );
    }
    let actScale = 0, weightScale = 1;
    if (dtype === DType.F8_E4M3) {
      if (!this.config.quantization) {
        throw new SafetensorsError(info.file, `${name} is F8_E4M3 but the config declares no FP8 quantization`);
      }
      const scale = (suffixes: string[], what: string) => {
        const scaleName = this.find(suffixes.map((s) => `${base}.${s}`), `${what} of ${name}`);
        const value = this.ckpt.scalar(scaleName);
        if (!(value > 0) || !Number.isFinite(value)) {
          throw new SafetensorsError(info.file, `${scaleName} is ${value}; scales must be positive and finite`);
        }
        return value;
      };
      weightScale = scale(this.scheme.weightScale, "weight scale");
      actScale = scale(this.scheme.actScale, "activation scale (static)");
    }
    const permute = permuteHeads > 0 && this.scheme.interleavedQK;
    const prepare = permute || slice
      ? (bytes: Uint8Array) => {
        if (permute) {
          bytes = permuteInterleavedRows(bytes, permuteHeads, this.config.headDim, bytes.byteLength / outDim);
        }
        return slice ? sliceMatrix(bytes, outDim, inDim, slice) : bytes;
      }
      : undefined;
    const ref = this.upload(name, dtype, prepare, actScale, weightScale);
    this.decoderBytes += ref.buffer.byteLength;
    return ref;
  }
}

/** Embedding and lm_head borrowed from another model (an EAGLE draft ships neither). */
export interface SharedHeads {
  embed: WeightRef;
  lmHead: WeightRef;
}

export function loadTextWeights(
  backend: Backend,
  ckpt: TensorSource,
  scheme: NameScheme,
  c: TextConfig,
  onProgress?: (p: LoadProgress) => void,
  shared?: SharedHeads,
  slices?: RankSlices,
): TextWeights {
  const loader = new TextLoader(backend, ckpt, scheme, c, onProgress);
  try {
    const embedShape = [c.vocabSize, c.hiddenSize];
    const embed = shared?.embed ?? loader.plain(scheme.embed, "the token embedding", embedShape);
    const qDim = c.numHeads * c.headDim, kvDim = c.numKvHeads * c.headDim;
    // a rank keeps its heads' rows of q/k/v, their columns of o, its FFN rows of gate/up and columns of down
    const qRows = slices && { rows: slices.q }, kvRows = slices && { rows: slices.kv };
    const oCols = slices && { cols: slices.q };
    const ffnRows = slices && { rows: slices.ffn }, ffnCols = slices && { cols: slices.ffn };
    const layers: LayerWeights[] = [];
    for (let l = 0; l < c.numLayers; l++) {
      layers.push({
        attnNorm: loader.plain(scheme.norm(l, "attnNorm"), `layer ${l} attention norm`, [c.hiddenSize]),
        q: loader.linear(l, "q", qDim, c.hiddenSize, c.numHeads, qRows),
        k: loader.linear(l, "k", kvDim, c.hiddenSize, c.numKvHeads, kvRows),
        v: loader.linear(l, "v", kvDim, c.hiddenSize, 0, kvRows),
        o: loader.linear(l, "o", c.hiddenSize, qDim, 0, oCols),
        mlpNorm: loader.plain(scheme.norm(l, "mlpNorm"), `layer ${l} MLP norm`, [c.hiddenSize]),
        gate: loader.linear(l, "gate", c.intermediateSize, c.hiddenSize, 0, ffnRows),
        up: loader.linear(l, "up", c.intermediateSize, c.hiddenSize, 0, ffnRows),
        down: loader.linear(l, "down", c.hiddenSize, c.intermediateSize, 0, ffnCols),
      });
    }
    const finalNorm = loader.plain(scheme.finalNorm, "the final norm", [c.hiddenSize]);
    const hasHead = scheme.lmHead.some((n) => ckpt.has(n));
    const headRows = slices?.vocab;
    const lmHead = shared?.lmHead ??
      (hasHead || !c.tieWordEmbeddings
        ? loader.plain(scheme.lmHead, "the lm_head", embedShape, headRows)
        : headRows
        ? loader.plain(scheme.embed, "the token embedding (tied lm_head)", embedShape, headRows)
        : embed);
    const lmHeadBytes = lmHead.buffer.byteLength;
    return {
      embed,
      lmHead,
      finalNorm,
      layers,
      decoderBytes: loader.decoderBytes + lmHeadBytes,
      loadedBytes: loader.loadedBytes,
      dispose: () => loader.buffers.forEach((w) => w.buffer.dispose()),
    };
  } catch (err) {
    loader.buffers.forEach((w) => w.buffer.dispose());
    throw err;
  }
}
