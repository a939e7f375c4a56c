// The Ministral3 decoder forward (model-spec §2.1): embedding (image features scattered into the [IMG]
// rows when the batch carries them, §4.5), L × (RMSNorm → Q/K/V → RoPE → query
// scale → paged KV write → causal GQA attention → O → residual → RMSNorm → SwiGLU MLP → residual),
// final RMSNorm, lm_head. One call runs a whole ragged batch; kernels do the arithmetic.
import type { Backend, Communicator, DeviceBuffer, KvFormat } from "../../ffi/backend.ts";
import type { Range } from "../parallel/layout.ts";
import type { TextConfig } from "../config/text-config.ts";
import type { TextWeights } from "../weights/load-text.ts";
import {
  type ForwardBatch,
  type ForwardOptions,
  type ForwardResult,
  validateBatch,
  validateImageEmbeddings,
} from "./batch.ts";
import type { KvCache, KvCacheDtype } from "./kv-cache.ts";
import { layerKvFormats } from "./kv-scales.ts";
import { buildRopeTables } from "./rope-tables.ts";
import { type StepCaps, Workspace } from "./workspace.ts";
import { type DecodeShaping, OneCallStep, type StepCalls } from "./one-call-step.ts";
import { ShardedLmHead } from "./sharded-lm-head.ts";

export interface TextModelOptions {
  /** Longest position the rotary tables cover (default: the model's context length). */
  maxPositions?: number;
  /** Tensor parallelism: this model holds one rank's shard (its config has that rank's head counts). */
  parallel?: ModelParallel;
  /** The largest step the engine runs: the workspace stops growing there (workspace.ts). */
  stepCaps?: StepCaps;
  /** Default "one-call" where the batch allows it. */
  stepCalls?: StepCalls;
  /** vLLM's --enforce-eager: no decode buckets, no CUDA graphs. Otherwise a CUDA model pads decode steps to their
   *  bucket and lets the library replay each bucket's recorded graph; the CPU runs steps as they come. */
  enforceEager?: boolean;
}

/** One rank's part in a tensor-parallel model (runtime/parallel/). */
export interface ModelParallel {
  comm: Communicator;
  /** lm_head rows of every rank, in rank order (runtime/parallel/layout.ts). */
  vocabRanges: Range[];
  /** Rows each rank sends in the logits gather: the largest slice, ceil(V / N). */
  vocabStride: number;
  /** Rank 0: hands the step to the follower ranks before computing it (they run the same forward). */
  beforeStep?: (batch: ForwardBatch, cache: KvCache) => void;
  /** Time spent in all-reduces and calls made, for `gust bench --tensor-parallel`. */
  stats: { allReduceMs: number; allReduces: number };
}

export class TextModel {
  readonly maxPositions: number;
  readonly #cos: DeviceBuffer;
  readonly #sin: DeviceBuffer;
  readonly #ws: Workspace;
  readonly #scale: number;
  readonly #parallel: ModelParallel | undefined;
  readonly #shardedLmHead: ShardedLmHead | undefined;
  /** Ids at and above this never come out of the model: a checkpoint's padding ids beyond its tokenizer. */
  #vocabLimit: number;
  /** Per-layer KV storage formats by cache dtype (FP8 scales are calibrated on first use). */
  readonly #kvFormats = new Map<KvCacheDtype, KvFormat[]>();
  readonly #oneCall: OneCallStep;
  stepCalls: StepCalls;

  constructor(
    readonly backend: Backend,
    readonly config: TextConfig,
    readonly weights: TextWeights,
    options: TextModelOptions = {},
  ) {
    this.maxPositions = Math.min(options.maxPositions ?? config.maxPositions, config.maxPositions);
    const tables = buildRopeTables(config.rope, config.headDim, this.maxPositions);
    this.#cos = backend.fromHost(tables.cos);
    this.#sin = backend.fromHost(tables.sin);
    this.#ws = new Workspace(backend, config, options.stepCaps);
    this.#scale = 1 / Math.sqrt(config.headDim);
    this.#parallel = options.parallel;
    this.#shardedLmHead = options.parallel && new ShardedLmHead(backend, config, weights.lmHead, options.parallel);
    this.#vocabLimit = config.vocabSize;
    this.stepCalls = options.stepCalls ?? "one-call";
    const stepTables = { cos: this.#cos, sin: this.#sin, attnScale: this.#scale, tableLen: this.maxPositions };
    const graphs = backend.kind === "cuda" && !options.enforceEager;
    this.#oneCall = new OneCallStep(backend, config, weights, this.#ws, stepTables, {
      decodeBuckets: graphs,
      graphs,
    });
  }

  /** Decode buckets and CUDA graphs on the one-call path (tests pad on the CPU too). */
  get decodeShaping(): DecodeShaping {
    return this.#oneCall.shaping;
  }
  set decodeShaping(shaping: DecodeShaping) {
    this.#oneCall.shaping = shaping;
  }

  /** The workspace's growth caps (an EAGLE draft built on this model takes the same). */
  get stepCaps(): StepCaps {
    return this.#ws.caps;
  }

  /** Frees the step's activations (workspace, TP logits gather) for a vision-tower call between steps; the next
   *  forward allocates them again. */
  releaseWorkspace(): void {
    this.#ws.dispose();
    this.#shardedLmHead?.release();
  }

  get parallel(): ModelParallel | undefined {
    return this.#parallel;
  }
  /** Ids the logits may name: [0, vocabLimit). */
  get vocabLimit(): number {
    return this.#vocabLimit;
  }

  /**
   * Masks the ids from `tokenizerVocab` up (set once at load when the tokenizer is smaller than the lm_head:
   * gust-mini has 4,096 model ids and 1,226 tokenizer ids): their logits come out −∞, so no sampler, top
   * log-probability or verification can name an id the detokenizer does not have.
   */
  limitVocab(tokenizerVocab: number): void {
    if (!(Number.isInteger(tokenizerVocab) && tokenizerVocab > 0 && tokenizerVocab <= this.config.vocabSize)) {
      throw new RangeError(`vocabulary limit ${tokenizerVocab} is outside [1, ${this.config.vocabSize}]`);
    }
    this.#vocabLimit = tokenizerVocab;
  }

  forward(batch: ForwardBatch, cache: KvCache, options: ForwardOptions = {}): ForwardResult {
    const c = this.config, b = this.backend, w = this.weights, ws = this.#ws;
    // first: FP8 calibration runs a forward of its own through this workspace
    const kvFormats = this.kvFormats(cache.dtype);
    validateBatch(batch, c.vocabSize, this.maxPositions);
    const numTokens = batch.tokenIds.length, numRows = batch.logitRows.length;
    const images = batch.imageEmbeddings;
    if (images) validateImageEmbeddings(images, numTokens, c.hiddenSize);
    const numSeqs = batch.contextLens.length;
    this.#parallel?.beforeStep?.(batch, cache);
    const qWidth = c.numHeads * c.headDim, kvWidth = c.numKvHeads * c.headDim;
    ws.ensure(numTokens, numRows);
    ws.ensureBatch(numSeqs, Math.max(1, batch.blockTables.length));
    if (this.stepCalls === "one-call" && OneCallStep.serves(batch, options, this.#parallel)) {
      return this.#oneCall.run(batch, cache, kvFormats, options.sample ?? null);
    }
    b.upload(ws.ids, batch.tokenIds);
    b.upload(ws.positions, batch.positions);
    b.upload(ws.slots, batch.slots);
    const { ids, positions, slots } = ws;
    b.upload(ws.queryStarts, batch.queryStarts);
    b.upload(ws.contextLens, batch.contextLens);
    b.upload(ws.blockTables, batch.blockTables);
    const { queryStarts, contextLens, blockTables } = ws;

    if (batch.inputEmbeddings) {
      if (batch.inputEmbeddings.length !== numTokens * c.hiddenSize) {
        throw new RangeError(
          `inputEmbeddings has ${batch.inputEmbeddings.length} values, expected ${numTokens} × ${c.hiddenSize}`,
        );
      }
      b.upload(ws.h, batch.inputEmbeddings);
    } else b.embed(ws.h, w.embed, ids, numTokens, c.vocabSize, c.hiddenSize);
    if (images && images.rows.length > 0) {
      // image features replace the [IMG] rows' embeddings (masked scatter, model-spec §4.5)
      using imageRows = b.fromHost(images.rows);
      using imageValues = b.fromHost(images.values);
      b.scatterRows(ws.h, imageValues, imageRows, images.rows.length, c.hiddenSize, numTokens);
    }
    this.#report(options, 0, ws.h, numTokens * c.hiddenSize);
    // The last layer's attention output and FFN matter only for the logit rows when nobody reads the other rows'
    // hidden states (llama.cpp's output-row pruning): a prompt's last layer runs its FFN on 1 row, not 2,048, and a
    // prefill chunk without logit rows stops after the last layer's KV write. The one-call step prunes alike.
    const isPruned = !options.onHidden && !(batch.hiddenRows && batch.hiddenRows.length > 0);
    if (isPruned && numRows > 0) b.upload(ws.rowIndex, batch.logitRows);
    for (let l = 0; l < c.numLayers; l++) {
      const isPrunedLayer = isPruned && l === c.numLayers - 1;
      const lw = w.layers[l];
      b.rmsnorm(ws.normed, ws.h, lw.attnNorm, numTokens, c.hiddenSize, c.rmsNormEps);
      b.linear(ws.q, ws.normed, lw.q, numTokens, qWidth, c.hiddenSize);
      b.linear(ws.k, ws.normed, lw.k, numTokens, kvWidth, c.hiddenSize);
      b.linear(ws.v, ws.normed, lw.v, numTokens, kvWidth, c.hiddenSize);
      b.rope(ws.q, positions, this.#cos, this.#sin, numTokens, c.numHeads, c.headDim, this.maxPositions);
      b.rope(ws.k, positions, this.#cos, this.#sin, numTokens, c.numKvHeads, c.headDim, this.maxPositions);
      b.queryScale(ws.q, positions, numTokens, qWidth, c.queryScale.beta, c.queryScale.originalMax);
      b.kvWrite(
        cache.k[l],
        cache.v[l],
        ws.k,
        ws.v,
        slots,
        numTokens,
        c.numKvHeads,
        c.headDim,
        cache.numBlocks,
        cache.blockSize,
        kvFormats[l],
      );
      if (isPrunedLayer && numRows === 0) break;
      b.attention({
        out: ws.attn,
        q: ws.q,
        kCache: cache.k[l],
        vCache: cache.v[l],
        queryStarts,
        contextLens,
        blockTables,
        numSeqs,
        numTokens,
        numHeads: c.numHeads,
        numKvHeads: c.numKvHeads,
        headDim: c.headDim,
        blockSize: cache.blockSize,
        maxBlocksPerSeq: Math.max(1, batch.maxBlocksPerSeq),
        numBlocks: cache.numBlocks,
        scale: this.#scale,
        kvFormat: kvFormats[l],
      });
      b.linear(ws.proj, ws.attn, lw.o, numTokens, c.hiddenSize, qWidth);
      this.#allReduce(ws.proj, numTokens * c.hiddenSize);
      b.add(ws.h, ws.h, ws.proj, numTokens * c.hiddenSize);
      if (isPrunedLayer) {
        b.gatherRows(ws.rows, ws.h, ws.rowIndex, numRows, c.hiddenSize, numTokens);
        this.#mlp(lw, ws.rows, numRows);
      } else {
        this.#mlp(lw, ws.h, numTokens);
        this.#report(options, l + 1, ws.h, numTokens * c.hiddenSize);
      }
    }
    const allHidden = batch.hiddenRows && batch.hiddenRows.length > 0
      ? this.#finalHidden(ws.h, batch.hiddenRows, numTokens)
      : undefined;
    if (numRows === 0) return { logits: new Float32Array(0), hidden: new Float32Array(0), allHidden };
    if (!isPruned) {
      b.upload(ws.rowIndex, batch.logitRows); // after #finalHidden, which gathers through the same index buffer
      b.gatherRows(ws.rows, ws.h, ws.rowIndex, numRows, c.hiddenSize, numTokens);
    }
    b.rmsnorm(ws.rowsNormed, ws.rows, w.finalNorm, numRows, c.hiddenSize, c.rmsNormEps);
    if (this.#shardedLmHead) this.#shardedLmHead.run(ws.logits, ws.rowsNormed, numRows);
    else b.linear(ws.logits, ws.rowsNormed, w.lmHead, numRows, c.vocabSize, c.hiddenSize);
    const wantHidden = !options.skipRowHidden || options.onHidden !== undefined;
    const hidden = wantHidden
      ? b.download(ws.rowsNormed, new Float32Array(numRows * c.hiddenSize))
      : new Float32Array(0);
    options.onHidden?.("final", hidden);
    if (options.sample) b.sample({ ...options.sample, logits: ws.logits, numLogitRows: numRows, vocab: c.vocabSize });
    if (options.logitsOnDevice) return { logits: new Float32Array(0), deviceLogits: ws.logits, hidden, allHidden };
    const logits = b.download(ws.logits, new Float32Array(numRows * c.vocabSize));
    if (this.#vocabLimit < c.vocabSize) {
      for (let r = 0; r < numRows; r++) {
        logits.fill(-Infinity, r * c.vocabSize + this.#vocabLimit, (r + 1) * c.vocabSize);
      }
    }
    return { logits, hidden, allHidden };
  }

  /** x[numTokens, hidden] += down(silu(gate(n)) · up(n)) with n = rmsnorm(x): the layer's FFN half. */
  #mlp(lw: TextWeights["layers"][number], x: DeviceBuffer, numTokens: number): void {
    const c = this.config, b = this.backend, ws = this.#ws;
    b.rmsnorm(ws.normed, x, lw.mlpNorm, numTokens, c.hiddenSize, c.rmsNormEps);
    b.linear(ws.gate, ws.normed, lw.gate, numTokens, c.intermediateSize, c.hiddenSize);
    b.linear(ws.up, ws.normed, lw.up, numTokens, c.intermediateSize, c.hiddenSize);
    b.siluMul(ws.gate, ws.gate, ws.up, numTokens * c.intermediateSize);
    b.linear(ws.proj, ws.gate, lw.down, numTokens, c.hiddenSize, c.intermediateSize);
    this.#allReduce(ws.proj, numTokens * c.hiddenSize);
    b.add(x, x, ws.proj, numTokens * c.hiddenSize);
  }

  /** Sums the ranks' partial o_proj / down_proj outputs (their input columns were split). */
  #allReduce(x: DeviceBuffer, count: number): void {
    const p = this.#parallel;
    if (!p || p.comm.numRanks === 1) return;
    const start = performance.now();
    p.comm.allReduceSum(x, count);
    p.stats.allReduceMs += performance.now() - start;
    p.stats.allReduces++;
  }

  /** How each layer's K/V are stored in a cache of `dtype`; FP8 scales come from calibrateKvScales, once. */
  kvFormats(dtype: KvCacheDtype): KvFormat[] {
    let formats = this.#kvFormats.get(dtype);
    if (!formats) this.#kvFormats.set(dtype, formats = layerKvFormats(this.backend, this, dtype));
    return formats;
  }

  /** Final-norm hidden states of arbitrary rows (no lm_head), in chunks of the workspace's row capacity. */
  #finalHidden(h: DeviceBuffer, rows: Int32Array, numTokens: number): Float32Array {
    const c = this.config, b = this.backend, ws = this.#ws;
    const out = new Float32Array(rows.length * c.hiddenSize);
    // a prefill chunk that is not a prompt's last samples no rows, so the row buffers may not exist yet
    if (ws.rowCapacity === 0) ws.ensure(numTokens, Math.min(rows.length, 64));
    for (let start = 0; start < rows.length; start += ws.rowCapacity) {
      const part = rows.subarray(start, Math.min(rows.length, start + ws.rowCapacity));
      b.upload(ws.rowIndex, part);
      b.gatherRows(ws.rows, h, ws.rowIndex, part.length, c.hiddenSize, numTokens);
      b.rmsnorm(ws.rowsNormed, ws.rows, this.weights.finalNorm, part.length, c.hiddenSize, c.rmsNormEps);
      b.download(ws.rowsNormed, out.subarray(start * c.hiddenSize, (start + part.length) * c.hiddenSize));
    }
    return out;
  }

  #report(options: ForwardOptions, layer: number, buffer: DeviceBuffer, count: number): void {
    if (options.onHidden) options.onHidden(layer, this.backend.download(buffer, new Float32Array(count)));
  }

  dispose(): void {
    this.#shardedLmHead?.release();
    this.#cos.dispose();
    this.#sin.dispose();
    this.#ws.dispose();
  }
}
