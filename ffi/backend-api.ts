// The Backend's contract: the kernel-facing types and one method per kernel. Model code depends on this;
// ffi/backend.ts implements it over the native library.
import type { DeviceBuffer } from "./buffer.ts";
import type { PackedStepModel, StepCall } from "./step.ts";
import type { Communicator } from "./comm.ts";
import type { BackendKind } from "./library-path.ts";
import { DType } from "./symbols.ts";

/** A weight tensor on the device: its buffer, dtype and (for FP8) static scales. */
export interface WeightRef {
  buffer: DeviceBuffer;
  dtype: DType;
  /** FP8 only: static activation scale (multiplier). */
  actScale: number;
  /** Multiplier applied to the output: the FP8 weight scale, 1 for plain weights. */
  weightScale: number;
}

/** One gust_fill_random call's tensor: element i is a pure function of (seed, tensorId, firstIndex + i). */
export interface RandomFill {
  count: number;
  dtype: DType;
  seed: number;
  tensorId: number;
  firstIndex: number;
  offset: number;
  scale: number;
}

/** How a KV cache stores its elements (gust.h, "KV cache storage"): the same for the write and every read. */
export interface KvFormat {
  /** DType.F32, DType.BF16 or DType.F8_E4M3. */
  dtype: DType;
  /** FP8 only: per-tensor scales (stored code = e4m3(x / scale)); ignored otherwise. */
  kScale: number;
  vScale: number;
}

export const f32KvFormat: KvFormat = { dtype: DType.F32, kScale: 1, vScale: 1 };

export interface AttentionArgs {
  out: DeviceBuffer;
  q: DeviceBuffer;
  kCache: DeviceBuffer;
  vCache: DeviceBuffer;
  queryStarts: DeviceBuffer;
  contextLens: DeviceBuffer;
  blockTables: DeviceBuffer;
  numSeqs: number;
  numTokens: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  blockSize: number;
  maxBlocksPerSeq: number;
  numBlocks: number;
  scale: number;
  /** Storage of kCache/vCache (default f32). */
  kvFormat?: KvFormat;
}

/** Non-causal attention within segments (no KV cache); see gust_segment_attention in kernels/gust.h. */
export interface SegmentAttentionArgs {
  out: DeviceBuffer;
  q: DeviceBuffer;
  k: DeviceBuffer;
  v: DeviceBuffer;
  /** int32 [numSegments + 1], from 0 to numTokens (cu_seqlens). */
  segmentStarts: DeviceBuffer;
  numSegments: number;
  numTokens: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  scale: number;
}

/** One gust_sample call (kernels/gust.h): device buffers, params packed by runtime/sampling/native-sampler.ts. */
export interface SampleArgs {
  outTokens: DeviceBuffer;
  outLogprobs: DeviceBuffer;
  outTopIds: DeviceBuffer;
  logits: DeviceBuffer;
  numLogitRows: number;
  vocab: number;
  params: DeviceBuffer;
  numRows: number;
  biasIds: DeviceBuffer | null;
  biasValues: DeviceBuffer | null;
  countIds: DeviceBuffer | null;
  counts: DeviceBuffer | null;
  seenIds: DeviceBuffer | null;
  masks: DeviceBuffer | null;
  numMasks: number;
  maxLogprobs: number;
}

/** gust_sample's arguments for a forward's own logit rows (the forward supplies logits, rows and vocab). */
export type StepSampleArgs = Omit<SampleArgs, "logits" | "numLogitRows" | "vocab">;

/** One gust_sample_weights call: [numRows, vocab] f32 logits in, f64 weights and one f64 total per row out. */
export interface SampleWeightsArgs {
  out: DeviceBuffer;
  totals: DeviceBuffer;
  logits: DeviceBuffer;
  numRows: number;
  vocab: number;
  temperature: number;
}

/** One gust_verify_drafts call (kernels/gust.h): the rows' params and lists as gust_sample's (packed by
 *  runtime/sampling/native-sampler.ts), proposals as gust_verify_proposal quadruples, draft probabilities f64. */
export interface VerifyArgs extends Omit<SampleArgs, "outTokens" | "outLogprobs" | "outTopIds" | "maxLogprobs"> {
  outAccepted: DeviceBuffer;
  outNext: DeviceBuffer;
  proposals: DeviceBuffer;
  numProposals: number;
  draftIds: DeviceBuffer | null;
  draftProbs: DeviceBuffer | null;
  numDrafts: number;
}

export interface Backend {
  readonly kind: BackendKind;
  readonly numThreads: number;
  /** True when device buffers are host memory, so host views can be borrowed without copying. */
  readonly sharesHostMemory: boolean;
  /** True when the AVX2/FMA/F16C kernels are active (CPU only). */
  readonly vectorized: boolean;
  /** CPU only: switch between the vector kernels and their portable twins (tests compare the two). */
  useVectorKernels(enabled: boolean): void;
  /** CPU only: allow exactly these kernel feature bits (1 = AVX2 paths, 2 = AVX-512 FP8 decode); returns the bits now active. */
  useCpuFeatures(mask: number): number;

  alloc(byteLength: number): DeviceBuffer;
  /** A new device buffer holding a copy of `host`. */
  fromHost(host: ArrayBufferView): DeviceBuffer;
  /** Borrows host memory without copying (sharesHostMemory backends only); `host` stays alive with it. */
  borrowHost(host: ArrayBufferView): DeviceBuffer;
  upload(dst: DeviceBuffer, host: ArrayBufferView, dstOffset?: number): void;
  download<T extends ArrayBufferView>(src: DeviceBuffer, host: T, srcOffset?: number): T;
  copy(dst: DeviceBuffer, dstOffset: number, src: DeviceBuffer, srcOffset: number, byteLength: number): void;
  synchronize(): void;
  /** Reads a whole buffer once (bandwidth probe); returns a checksum. */
  readProbe(buffer: DeviceBuffer): number;
  /** Free and total bytes of the memory buffers come from (the GPU's for CUDA, the host's for the CPU). */
  memoryInfo(): { freeBytes: number; totalBytes: number };

  /** gust_fill_random: `count` elements of random tensor (seed, tensorId) from `firstIndex`, as `dtype` (f32, bf16,
   *  e4m3) at byte `byteOffset` of `buffer`; floats are offset + scale · uniform(−1, 1). */
  fillRandom(buffer: DeviceBuffer, fill: RandomFill, byteOffset?: number): void;
  fp8Quantize(codes: DeviceBuffer, x: DeviceBuffer, n: number, scale: number): void;
  fp8Dequantize(y: DeviceBuffer, codes: DeviceBuffer, n: number, scale: number): void;
  embed(out: DeviceBuffer, table: WeightRef, ids: DeviceBuffer, numTokens: number, vocab: number, dim: number): void;
  linear(y: DeviceBuffer, x: DeviceBuffer, w: WeightRef, numTokens: number, nOut: number, kIn: number): void;
  rmsnorm(y: DeviceBuffer, x: DeviceBuffer, weight: WeightRef, numTokens: number, dim: number, eps: number): void;
  rope(
    x: DeviceBuffer,
    positions: DeviceBuffer,
    cos: DeviceBuffer,
    sin: DeviceBuffer,
    numTokens: number,
    numHeads: number,
    headDim: number,
    tableLen: number,
  ): void;
  queryScale(
    q: DeviceBuffer,
    positions: DeviceBuffer,
    numTokens: number,
    width: number,
    beta: number,
    originalMax: number,
  ): void;
  kvWrite(
    kCache: DeviceBuffer,
    vCache: DeviceBuffer,
    k: DeviceBuffer,
    v: DeviceBuffer,
    slots: DeviceBuffer,
    numTokens: number,
    numKvHeads: number,
    headDim: number,
    numBlocks: number,
    blockSize: number,
    kvFormat?: KvFormat,
  ): void;
  attention(args: AttentionArgs): void;
  siluMul(out: DeviceBuffer, gate: DeviceBuffer, up: DeviceBuffer, n: number): void;
  add(out: DeviceBuffer, a: DeviceBuffer, b: DeviceBuffer, n: number): void;
  argmax(out: DeviceBuffer, x: DeviceBuffer, numRows: number, rowLen: number): void;
  gatherRows(
    out: DeviceBuffer,
    x: DeviceBuffer,
    rows: DeviceBuffer,
    numRows: number,
    rowLen: number,
    numSrcRows: number,
  ): void;
  /** Native sampling of a batch of rows (gust_sample). */
  sample(args: SampleArgs): void;
  /** The weights a draw at `temperature` uses and their totals (gust_sample_weights; tests hold them to the spec). */
  sampleWeights(a: SampleWeightsArgs): void;
  /** Speculative verification of a batch of draft proposals against their target rows (gust_verify_drafts). */
  verifyDrafts(args: VerifyArgs): void;
  /** The whole forward step (and its sampling) in one native call (gust_step; ffi/step.ts packs it). */
  step(model: PackedStepModel, call: StepCall): void;
  /** Kernel launches (a CUDA graph replay counts one) queued since the previous call; always 0 on the CPU. */
  launchCount(): number;
  /** Native calls made so far (`gust bench` reports calls per step). */
  readonly ffiCalls: number;
  /** Exact (erf) GELU, element-wise; out may alias x. */
  gelu(out: DeviceBuffer, x: DeviceBuffer, n: number): void;
  /** out[rows[r], :] = x[r, :] for r < numRows; out has numDstRows rows. */
  scatterRows(
    out: DeviceBuffer,
    x: DeviceBuffer,
    rows: DeviceBuffer,
    numRows: number,
    rowLen: number,
    numDstRows: number,
  ): void;
  segmentAttention(args: SegmentAttentionArgs): void;
  /** A fresh communicator id: rank 0 makes it and hands its bytes to the other ranks. */
  commUniqueId(): Uint8Array;
  /** Devices tensor-parallel ranks can bind to (CUDA: visible GPUs); 0 means no limit (CPU ranks are processes). */
  commDeviceCount(): number;
  /** Joins the communicator `id` as `rank` of `numRanks`; fails after timeoutMs naming the missing ranks. */
  commInit(id: Uint8Array, numRanks: number, rank: number, timeoutMs: number): Communicator;
  close(): void;
}

export interface BackendOptions {
  /** CPU threads (default: defaultCpuThreads(): the CPUs this process may use, container quota included). */
  numThreads?: number;
  /** Skip the load-time self-test (only the self-test's own tests do this). */
  skipSelfTest?: boolean;
}
