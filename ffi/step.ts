// Packs gust_step's descriptor (kernels/gust.h: gust_weight, gust_step_layer, gust_step_sample, gust_step_desc).
// Fields are written in declaration order by a cursor, pointers first, so the packing reads like the header; the
// C side asserts the same sizes (kernels/step_core.h). Example: a gust_weight is {data ptr at 0, dtype i32 at 8,
// act_scale f32 at 12, weight_scale f32 at 16, reserved at 20} = 24 bytes; layer l of 88 starts at l · 248.
import { ptr as hostPtr } from "bun:ffi";
import type { KvFormat, StepSampleArgs, WeightRef } from "./backend-api.ts";
import type { DeviceBuffer } from "./buffer.ts";

export const WEIGHT_BYTES = 24, STEP_LAYER_BYTES = 248, STEP_SAMPLE_BYTES = 96, STEP_DESC_BYTES = 392;

export interface StepLayer {
  weights: { attnNorm: WeightRef; q: WeightRef; k: WeightRef; v: WeightRef; o: WeightRef } & {
    mlpNorm: WeightRef;
    gate: WeightRef;
    up: WeightRef;
    down: WeightRef;
  };
  kCache: DeviceBuffer;
  vCache: DeviceBuffer;
  kvFormat: KvFormat;
}

/** What stays fixed across steps of one model over one cache (packed once: layers are 88 × 248 bytes). */
export interface StepModel {
  layers: StepLayer[];
  cos: DeviceBuffer;
  sin: DeviceBuffer;
  embed: WeightRef;
  finalNorm: WeightRef;
  lmHead: WeightRef;
  sizes: {
    hidden: number;
    numHeads: number;
    numKvHeads: number;
    headDim: number;
    intermediate: number;
    vocab: number;
    tableLen: number;
  };
  rmsEps: number;
  attnScale: number;
  queryBeta: number;
  queryOriginalMax: number;
  numBlocks: number;
  blockSize: number;
}

/** One step's batch (host arrays, runtime/model/batch.ts) and the workspace buffers the step uses. */
export interface StepCall {
  host: Record<(typeof STEP_HOST_FIELDS)[number], Int32Array>;
  maxBlocksPerSeq: number;
  /** ids, positions, slots, queryStarts, contextLens, blockTables, rowIndex, then h … logits (header order). */
  device: DeviceBuffer[];
  /** gust_sample over the step's logits. */
  sample: StepSampleArgs | null;
  /** The batch is a padded decode bucket the CUDA library may record and replay as a graph (GUST_STEP_GRAPH). */
  graph?: boolean;
}

/** gust_step_desc.flags bits (kernels/gust.h). */
export const GUST_STEP_GRAPH = 1;

/** The batch's host arrays in the order gust_step_desc lists them (host_ids … host_row_index). */
export const STEP_HOST_FIELDS = [
  "tokenIds",
  "positions",
  "slots",
  "queryStarts",
  "contextLens",
  "blockTables",
  "logitRows",
] as const;

/** Device buffer names in the order gust_step_desc lists them. */
export const STEP_DEVICE_FIELDS = [
  "ids",
  "positions",
  "slots",
  "queryStarts",
  "contextLens",
  "blockTables",
  "rowIndex",
  "h",
  "normed",
  "q",
  "k",
  "v",
  "attn",
  "proj",
  "gate",
  "up",
  "rows",
  "rowsNormed",
  "logits",
] as const;

class Cursor {
  readonly view: DataView;
  at = 0;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  ptr(address: number | null): void {
    this.view.setBigUint64(this.at, BigInt(address ?? 0), true);
    this.at += 8;
  }
  i32(...values: number[]): void {
    for (const v of values) this.view.setInt32((this.at += 4) - 4, v, true);
  }
  f32(...values: number[]): void {
    for (const v of values) this.view.setFloat32((this.at += 4) - 4, v, true);
  }
  weight(w: WeightRef): void {
    this.ptr(w.buffer.ptr);
    this.i32(w.dtype);
    this.f32(w.actScale, w.weightScale);
    this.i32(0);
  }
  /** Checks the cursor ended where the header's struct does. */
  end(expected: number): void {
    if (this.at !== expected) throw new Error(`gust_step packing wrote ${this.at} bytes, the header has ${expected}`);
  }
}

const hostAddress = (a: Int32Array): number | null => (a.length > 0 ? hostPtr(a) : null);

/** The fixed part: the layer array (kept alive by the returned object) and the model's fields. */
export class PackedStepModel {
  readonly layers: Uint8Array;
  readonly layersAddress: number;
  constructor(readonly model: StepModel) {
    this.layers = new Uint8Array(model.layers.length * STEP_LAYER_BYTES);
    model.layers.forEach((layer, l) => {
      const c = new Cursor(this.layers.subarray(l * STEP_LAYER_BYTES, (l + 1) * STEP_LAYER_BYTES));
      const w = layer.weights;
      for (const ref of [w.attnNorm, w.q, w.k, w.v, w.o, w.mlpNorm, w.gate, w.up, w.down]) c.weight(ref);
      c.ptr(layer.kCache.ptr);
      c.ptr(layer.vCache.ptr);
      c.i32(layer.kvFormat.dtype);
      c.f32(layer.kvFormat.kScale, layer.kvFormat.vScale);
      c.i32(0);
      c.end(STEP_LAYER_BYTES);
    });
    this.layersAddress = hostPtr(this.layers);
  }
}

/** The descriptor of one step (and its gust_step_sample, when it samples); keep both alive through the call. */
export function packStep(model: PackedStepModel, call: StepCall): { desc: Uint8Array; sample: Uint8Array | null } {
  const m = model.model, h = call.host;
  const sample = call.sample ? new Uint8Array(STEP_SAMPLE_BYTES) : null;
  if (call.sample && sample) {
    const s = call.sample, c = new Cursor(sample);
    for (const b of [s.outTokens, s.outLogprobs, s.outTopIds, s.params]) c.ptr(b.ptr);
    for (const b of [s.biasIds, s.biasValues, s.countIds, s.counts, s.seenIds, s.masks]) c.ptr(b?.ptr ?? null);
    c.i32(s.numRows, s.numMasks, s.maxLogprobs, 0);
    c.end(STEP_SAMPLE_BYTES);
  }
  const desc = new Uint8Array(STEP_DESC_BYTES), c = new Cursor(desc);
  c.ptr(model.layersAddress);
  c.ptr(m.cos.ptr);
  c.ptr(m.sin.ptr);
  for (const w of [m.embed, m.finalNorm, m.lmHead]) c.weight(w);
  for (const name of STEP_HOST_FIELDS) c.ptr(hostAddress(h[name]));
  if (call.device.length !== STEP_DEVICE_FIELDS.length) {
    throw new RangeError(`gust_step takes ${STEP_DEVICE_FIELDS.length} device buffers, got ${call.device.length}`);
  }
  for (const b of call.device) c.ptr(b.ptr);
  c.ptr(sample ? hostPtr(sample) : null);
  const z = m.sizes;
  c.i32(m.layers.length, z.hidden, z.numHeads, z.numKvHeads, z.headDim, z.intermediate, z.vocab, z.tableLen);
  c.f32(m.rmsEps, m.attnScale, m.queryBeta);
  c.i32(m.queryOriginalMax);
  const numSeqs = h.contextLens.length;
  c.i32(m.numBlocks, m.blockSize, h.tokenIds.length, numSeqs, h.logitRows.length, call.maxBlocksPerSeq);
  c.i32(call.graph ? GUST_STEP_GRAPH : 0, 0);
  c.end(STEP_DESC_BYTES);
  return { desc, sample };
}
