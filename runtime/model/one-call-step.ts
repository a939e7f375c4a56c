// The decoder forward in one native call (kernels/gust.h gust_step): the batch's upload, the embedding, every
// layer, the final norm and lm_head of the logit rows, and the native sampling, queued by one FFI call instead of
// ~17 per layer. TextModel.forward is its per-kernel twin and spec (test/model/one-call-step.test.ts holds the two
// bit-identical); it keeps the forwards this path does not serve: tensor parallelism (all-reduces between
// kernels), image features, input embeddings, hidden-state outputs (EAGLE, diagnostics).
import type { Backend, DeviceBuffer, KvFormat, StepSampleArgs } from "../../ffi/backend.ts";
import { PackedStepModel, STEP_DEVICE_FIELDS, type StepModel } from "../../ffi/step.ts";
import type { TextConfig } from "../config/text-config.ts";
import type { TextWeights } from "../weights/load-text.ts";
import type { ForwardBatch, ForwardOptions, ForwardResult } from "./batch.ts";
import { decodeBucket, isDecodeOnly, padDecodeBatch } from "./decode-buckets.ts";
import type { KvCache } from "./kv-cache.ts";
import type { ModelParallel } from "./text-model.ts";
import type { Workspace } from "./workspace.ts";

/** How a forward reaches the kernels: "one-call" (gust_step, where the batch allows) or "per-kernel" (the twin). */
export type StepCalls = "one-call" | "per-kernel";

export interface StepTables {
  cos: DeviceBuffer;
  sin: DeviceBuffer;
  attnScale: number;
  tableLen: number;
}

/** How decode steps are shaped: padded to their bucket (runtime/model/decode-buckets.ts), and whether the library
 *  may record and replay each bucket's step as a CUDA graph (only with padding; the CPU library ignores it). */
export interface DecodeShaping {
  decodeBuckets: boolean;
  graphs: boolean;
}

export class OneCallStep {
  /** gust_step's fixed part per KV cache (weights, cache buffers, formats), packed on first use. */
  readonly #packed = new WeakMap<KvCache, PackedStepModel>();

  constructor(
    readonly backend: Backend,
    readonly config: TextConfig,
    readonly weights: TextWeights,
    readonly ws: Workspace,
    readonly tables: StepTables,
    public shaping: DecodeShaping = { decodeBuckets: false, graphs: false },
  ) {}

  /** Forwards that only need the logits (or tokens) of a plain text batch on one rank. */
  static serves(batch: ForwardBatch, options: ForwardOptions, parallel: ModelParallel | undefined): boolean {
    return (!parallel || parallel.comm.numRanks === 1) && options.logitsOnDevice === true &&
      options.skipRowHidden === true && !options.onHidden && !batch.imageEmbeddings && !batch.inputEmbeddings &&
      !(batch.hiddenRows && batch.hiddenRows.length > 0) && batch.logitRows.length > 0;
  }

  /** The forward (validated, workspace sized by the caller) and `sample`, in one gust_step call. A decode-only
   *  batch is padded to its bucket first when `shaping.decodeBuckets` is on: the logits then hold the bucket's rows,
   *  the batch's own rows first (sample rows name only those). */
  run(given: ForwardBatch, cache: KvCache, kvFormats: KvFormat[], sample: StepSampleArgs | null): ForwardResult {
    const { batch, bucketed } = this.#shaped(given);
    let packed = this.#packed.get(cache);
    if (!packed) {
      packed = new PackedStepModel(this.#stepModel(cache, kvFormats));
      this.#packed.set(cache, packed);
    }
    const { tokenIds, positions, slots, queryStarts, contextLens, blockTables, logitRows } = batch;
    this.backend.step(packed, {
      host: { tokenIds, positions, slots, queryStarts, contextLens, blockTables, logitRows },
      maxBlocksPerSeq: batch.maxBlocksPerSeq,
      device: STEP_DEVICE_FIELDS.map((name) => this.ws[name]),
      sample,
      graph: bucketed && this.shaping.graphs,
    });
    return { logits: new Float32Array(0), deviceLogits: this.ws.logits, hidden: new Float32Array(0) };
  }

  #shaped(batch: ForwardBatch): { batch: ForwardBatch; bucketed: boolean } {
    if (!this.shaping.decodeBuckets || !isDecodeOnly(batch)) return { batch, bucketed: false };
    const caps = this.ws.caps, bucket = decodeBucket(batch.tokenIds.length, Math.min(caps.maxRows, caps.maxTokens));
    if (bucket === null) return { batch, bucketed: false };
    const padded = padDecodeBatch(batch, bucket);
    this.ws.ensure(bucket, bucket);
    this.ws.ensureBatch(bucket, padded.blockTables.length);
    return { batch: padded, bucketed: true };
  }

  #stepModel(cache: KvCache, kvFormats: KvFormat[]): StepModel {
    const c = this.config, w = this.weights;
    return {
      layers: w.layers.map((weights, l) => ({
        weights,
        kCache: cache.k[l],
        vCache: cache.v[l],
        kvFormat: kvFormats[l],
      })),
      cos: this.tables.cos,
      sin: this.tables.sin,
      embed: w.embed,
      finalNorm: w.finalNorm,
      lmHead: w.lmHead,
      sizes: {
        hidden: c.hiddenSize,
        numHeads: c.numHeads,
        numKvHeads: c.numKvHeads,
        headDim: c.headDim,
        intermediate: c.intermediateSize,
        vocab: c.vocabSize,
        tableLen: this.tables.tableLen,
      },
      rmsEps: c.rmsNormEps,
      attnScale: this.tables.attnScale,
      queryBeta: c.queryScale.beta,
      queryOriginalMax: c.queryScale.originalMax,
      numBlocks: cache.numBlocks,
      blockSize: cache.blockSize,
    };
  }
}
