// Everything the runtime process serves from: the loaded model, its engine with a KV pool sized from
// free memory, the tokenizer files the gateways receive in `hello`, and the control ids the engine needs.
import { existsSync, readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import type { Backend } from "../../ffi/backend.ts";
import { JsonConstraints } from "../sampling/constraints.ts";
import { GrammarCompiler } from "../grammar/grammar-compiler.ts";
import { Engine } from "../engine/engine.ts";
import { choosePoolSize } from "../engine/pool-size.ts";
import type { ThinkIds } from "../engine/reasoning-budget.ts";
import { KvCache, type KvCacheDtype, resolveKvCacheDtype } from "../model/kv-cache.ts";
import { type LoadedModel, loadModel, progressPrinter } from "../model/load-model.ts";
import { loadTokenizer, type Tokenizer } from "../text/index.ts";
import { type LoadedVision, openVision } from "../vision/open-vision.ts";
import { imageTokenIds } from "../vision/vision-config.ts";
import { loadDraft, type LoadedDraft } from "../eagle/load-draft.ts";
import { defaultSpecOptions, type SpecOptions, Speculator } from "../eagle/speculator.ts";
import { maxLogitRows } from "../eagle/rounds.ts";
import type { HelloMessage } from "../wire/messages.ts";
import { PROTOCOL_VERSION } from "../wire/messages.ts";
import { ModelId, TensorParallelGroup } from "../parallel/leader.ts";
import { shardLayout } from "../parallel/layout.ts";
import { rankWorkspace } from "../plan/memory-plan.ts";
import type { StepCaps } from "../model/workspace.ts";

export interface HostOptions {
  modelDir: string;
  /** Name clients use in the `model` field (default: the directory name). */
  modelId?: string;
  /** More names the model answers to (vLLM's --served-model-name after the first). */
  aliases?: string[];
  maxNumSeqs?: number;
  maxBatchedTokens?: number;
  /** Longest sequence served (default: the model's context). */
  maxModelLen?: number;
  blockSize?: number;
  /** CPU: share of the host's available memory for the KV cache (default 0.5). */
  kvMemoryFraction?: number;
  /** CUDA: share of the GPU's total memory the runtime may fill, weights included (default 0.9). */
  gpuMemoryUtilization?: number;
  /** KV cache storage (default bf16: `--kv-cache-dtype auto`). */
  kvCacheDtype?: KvCacheDtype;
  /** Exact number of KV blocks (overrides the memory-based size; tests use it). */
  numBlocks?: number;
  /** No decode-step CUDA graphs (--enforce-eager). */
  enforceEager?: boolean;
  /** Skip the vision tower even if the checkpoint has one. */
  textOnly?: boolean;
  maxImagesPerRequest?: number;
  /** EAGLE draft head directory: enables speculative decoding. */
  draftDir?: string;
  specOptions?: Partial<SpecOptions>;
  /** Ranks of one model copy (default 1): this process is rank 0 and starts the followers. */
  tensorParallel?: number;
  /** A follower rank exited while serving (the runtime fails its requests and exits). */
  onFollowerExit?: (message: string) => void;
}

const TOKENIZER_FILES = ["tekken.json", "tokenizer.json", "tokenizer_config.json", "config.json"];

export class ModelHost {
  readonly engine: Engine;
  readonly cache: KvCache;
  readonly modelId: string;
  readonly aliases: readonly string[];
  readonly thinkIds: ThinkIds | null;
  /** The vision tower, when the checkpoint has one. */
  readonly vision: LoadedVision | null;
  readonly maxImagesPerRequest: number;
  readonly draft: LoadedDraft | null;
  /** What the startup line reports: weight bytes, KV bytes per token and the tokens the pool holds. */
  readonly memory: { weightBytes: number; kvBytesPerToken: number; poolTokens: number };
  /** True when the KV pool holds fewer tokens than the model's context, so the served context is the pool's. */
  readonly contextCappedByPool: boolean;
  readonly speculator: Speculator | null;
  readonly #tokenizerFiles: { name: string; bytes: Uint8Array }[];
  /** Constrained-decoding grammars and masks over this tokenizer's vocabulary. */
  readonly jsonConstraints: JsonConstraints;

  private constructor(
    readonly loaded: LoadedModel,
    readonly tokenizer: Tokenizer,
    o: HostOptions,
    backend: Backend,
    readonly group: TensorParallelGroup | null,
  ) {
    const text = loaded.config.text;
    this.vision = o.textOnly ? null : openVision(loaded.config, backend);
    this.maxImagesPerRequest = this.vision ? (o.maxImagesPerRequest ?? 8) : 0;
    this.modelId = o.modelId ?? basename(resolve(o.modelDir));
    this.aliases = (o.aliases ?? []).filter((n) => n !== this.modelId);
    const maxBatchedTokens = stepCapsOf(o).maxTokens, maxNumSeqs = o.maxNumSeqs ?? 64, blockSize = o.blockSize ?? 16;
    const kvCacheDtype = o.kvCacheDtype ?? resolveKvCacheDtype();
    // the draft loads first: its weights are in use and its cache grows with the target's pool
    this.draft = o.draftDir ? loadDraft(o.draftDir, backend, loaded, group?.placement(ModelId.Draft).beforeStep) : null;
    const draftBlockBytes = this.draft ? KvCache.bytesPerBlock(this.draft.model.config, blockSize, "f32") : 0;
    const numBlocks = o.numBlocks ??
      choosePoolSize(loaded.model.config, {
        blockSize,
        maxNumSeqs,
        maxModelLen: loaded.model.maxPositions,
        kvCacheDtype,
        memory: { ...backend.memoryInfo(), gpu: !backend.sharesHostMemory },
        gpuMemoryUtilization: o.gpuMemoryUtilization,
        memoryFraction: o.kvMemoryFraction,
        // what `gust plan` counts for this rank (rank 0: the vision tower runs here)
        workspaceBytes: rankWorkspace(
          text,
          shardLayout(text, group?.comm.numRanks ?? 1),
          stepCapsOf(o),
          this.draft?.config.text ?? null,
          this.vision?.config ?? null,
        ).total,
        extraBytesPerBlock: draftBlockBytes,
      }).numBlocks;
    // the model's own config: under tensor parallelism it has this rank's KV heads
    this.cache = new KvCache(backend, loaded.model.config, numBlocks, blockSize, kvCacheDtype);
    loaded.model.kvFormats(kvCacheDtype); // FP8 scales are calibrated now, not inside the first request's step
    const think = tokenizer.findControl("[THINK]"), endThink = tokenizer.findControl("[/THINK]");
    this.thinkIds = think !== undefined && endThink !== undefined ? { think, endThink } : null;
    // the draft's pool mirrors the target's, plus room for every sequence's k chain positions
    this.speculator = this.draft
      ? new Speculator(backend, loaded, this.draft, numBlocks + maxNumSeqs, blockSize, {
        ...defaultSpecOptions,
        ...o.specOptions,
      })
      : null;
    // like vLLM, one sequence must be able to use the whole context: when the pool is smaller than the
    // model's context, the served context shrinks to the pool (said at start-up and in hello)
    const poolTokens = numBlocks * blockSize;
    this.memory = {
      weightBytes: loaded.weights.loadedBytes,
      kvBytesPerToken: KvCache.bytesPerToken(loaded.model.config, kvCacheDtype),
      poolTokens,
    };
    this.contextCappedByPool = poolTokens < loaded.model.maxPositions;
    this.engine = new Engine(backend, loaded.model, this.cache, {
      thinkIds: this.thinkIds,
      eosId: text.eosId,
      maxNumSeqs,
      maxBatchedTokens,
      speculator: this.speculator ?? undefined,
      maxModelLen: poolTokens,
    });
    // grammars of requests compile on a worker thread, not between engine steps (runtime/server/grammar-stage.ts)
    this.jsonConstraints = new JsonConstraints(tokenizer, undefined, undefined, new GrammarCompiler());
    // the trie (~0.3 s at 131k tokens) and the common JSON masks are built now, not inside the first constrained step
    this.jsonConstraints.warm();
    this.#tokenizerFiles = TOKENIZER_FILES.filter((f) => existsSync(join(o.modelDir, f)))
      .filter((f) => f !== "tokenizer.json" || !existsSync(join(o.modelDir, "tekken.json")))
      .map((name) => ({ name, bytes: new Uint8Array(readFileSync(join(o.modelDir, name))) }));
  }

  static async open(backend: Backend, o: HostOptions): Promise<ModelHost> {
    const tokenizer = await loadTokenizer(o.modelDir);
    const group = (o.tensorParallel ?? 1) > 1
      ? TensorParallelGroup.start(backend, {
        numRanks: o.tensorParallel!,
        modelDir: o.modelDir,
        draftDir: o.draftDir,
        maxPositions: o.maxModelLen,
        stepCaps: stepCapsOf(o),
        onFollowerExit: o.onFollowerExit,
      })
      : null;
    try {
      const loaded = loadModel(o.modelDir, backend, {
        onProgress: progressPrinter(1 << 30, 0, o.tensorParallel ?? 1),
        maxPositions: o.maxModelLen,
        parallel: group?.placement(ModelId.Target),
        stepCaps: stepCapsOf(o),
        enforceEager: o.enforceEager,
      });
      if (tokenizer.vocabSize > loaded.config.text.vocabSize) {
        throw new Error(
          `The tokenizer has ${tokenizer.vocabSize} ids but the model's vocabulary is ${loaded.config.text.vocabSize}`,
        );
      }
      // the model's padding ids (lm_head rows past the tokenizer) are masked for good: sampling never yields them
      if (tokenizer.vocabSize < loaded.config.text.vocabSize) loaded.model.limitVocab(tokenizer.vocabSize);
      const host = new ModelHost(loaded, tokenizer, o, backend, group);
      group?.ready(); // every follower has loaded its shards
      return host;
    } catch (err) {
      group?.shutdown();
      throw err;
    }
  }

  hello(draining: boolean): { message: HelloMessage; binary: Uint8Array } {
    const text = this.loaded.config.text;
    let offset = 0;
    const files = this.#tokenizerFiles.map((f) => {
      const entry = { name: f.name, byteOffset: offset, byteLength: f.bytes.byteLength };
      offset += f.bytes.byteLength;
      return entry;
    });
    const binary = new Uint8Array(offset);
    this.#tokenizerFiles.forEach((f, i) => binary.set(f.bytes, files[i].byteOffset));
    const img = this.tokenizer.image;
    return {
      message: {
        type: "hello",
        protocol: PROTOCOL_VERSION,
        draining,
        model: {
          id: this.modelId,
          aliases: [...this.aliases],
          contextLength: this.engine.maxModelLen,
          vocabSize: text.vocabSize,
          bosId: text.bosId,
          eosId: text.eosId,
          hasVision: this.vision !== null,
        },
        limits: {
          maxNumSeqs: this.engine.scheduler.config.maxNumSeqs,
          maxBatchedTokens: this.engine.scheduler.config.maxBatchedTokens,
          numBlocks: this.cache.numBlocks,
          blockSize: this.cache.blockSize,
          maxImagesPerRequest: this.maxImagesPerRequest,
        },
        tokenizer: { files },
        image: img
          ? {
            patchSize: img.imagePatchSize,
            spatialMergeSize: img.spatialMergeSize,
            maxImageSize: img.maxImageSize,
            ...(this.vision ? { tokenIds: imageTokenIds(this.vision.config) } : {}),
          }
          : null,
      },
      binary,
    };
  }

  dispose(): void {
    this.group?.shutdown();
    this.speculator?.dispose();
    this.draft?.dispose();
    this.vision?.dispose();
    this.cache.dispose();
    this.loaded.dispose();
  }
}

/** The engine's largest step (--max-batched-tokens 2048, --max-num-seqs 64 by default, more logits rows when
 *  a draft verifies): the workspace caps, and what `gust plan` counts. */
function stepCapsOf(o: HostOptions): StepCaps {
  const maxBatch = o.draftDir ? (o.specOptions?.maxBatch ?? defaultSpecOptions.maxBatch) : null;
  return { maxTokens: o.maxBatchedTokens ?? 2048, maxRows: maxLogitRows(o.maxNumSeqs ?? 64, maxBatch) };
}
