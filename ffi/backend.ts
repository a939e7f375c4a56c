// The typed Backend over the native ABI: buffers, transfers and one method per kernel. Model code talks
// to this interface only; which library (CPU or CUDA) sits behind it is decided at creation.
import { ptr as hostPtr } from "bun:ffi";
import { type NativeSymbols, openLibrary } from "./bun-binder.ts";
import { type DeviceBuffer, NativeBuffer } from "./buffer.ts";
import { type Communicator, openCommunicator } from "./comm.ts";
import { defaultCpuThreads } from "./cpu-threads.ts";
import { applyOmpWaitDefaults } from "./omp-wait.ts";
import { type BackendKind, libraryPath } from "./library-path.ts";
import { COMM_ID_BYTES, DType, dtypeBytes, GUST_ABI_VERSION, statusNames, type SymbolName } from "./symbols.ts";
import { runSelfTest } from "./self-test.ts";
import { type PackedStepModel, packStep, type StepCall } from "./step.ts";

export type { DeviceBuffer } from "./buffer.ts";
export type { Communicator } from "./comm.ts";
export { DType } from "./symbols.ts";

/** A failed native call: names the kernel and carries the library's own message. */
export class NativeError extends Error {
  constructor(
    readonly op: string,
    readonly status: number,
    detail: string,
  ) {
    super(`${op} failed (${statusNames[status] ?? `status ${status}`}): ${detail || "no detail from the library"}`);
    this.name = "NativeError";
  }
}

export * from "./backend-api.ts";
import {
  type AttentionArgs,
  type Backend,
  type BackendOptions,
  f32KvFormat,
  type KvFormat,
  type RandomFill,
  type SampleArgs,
  type SampleWeightsArgs,
  type SegmentAttentionArgs,
  type VerifyArgs,
  type WeightRef,
} from "./backend-api.ts";

/** The rows' params and lists, as gust_sample and gust_verify_drafts take them (params, num_rows, the six lists,
 *  num_masks). */
function sampleRows(a: Omit<SampleArgs, "outTokens" | "outLogprobs" | "outTopIds" | "maxLogprobs">) {
  const lists = [a.biasIds, a.biasValues, a.countIds, a.counts, a.seenIds, a.masks].map((b) => b?.ptr ?? null);
  return [a.params.ptr, a.numRows, ...lists, a.numMasks];
}

class NativeBackend implements Backend {
  readonly numThreads: number;
  readonly sharesHostMemory: boolean;
  vectorized: boolean;
  readonly #fn: NativeSymbols;
  readonly #close: () => void;
  readonly #outPtr = new BigUint64Array(1);
  ffiCalls = 0;

  constructor(readonly kind: BackendKind, fn: NativeSymbols, close: () => void, numThreads: number) {
    this.#fn = fn;
    this.#close = close;
    this.#check("gust_init", fn.gust_init(numThreads));
    this.numThreads = fn.gust_num_threads() as number;
    this.sharesHostMemory = kind === "cpu";
    this.vectorized = ((fn.gust_cpu_features() as number) & 1) === 1;
  }

  useVectorKernels(enabled: boolean): void {
    this.useCpuFeatures(enabled ? 3 : 0);
  }

  useCpuFeatures(mask: number): number {
    this.#call("gust_cpu_use_features", mask);
    const active = this.#fn.gust_cpu_features() as number;
    this.vectorized = (active & 1) === 1;
    return active;
  }

  #check(op: SymbolName, status: unknown): void {
    if (status !== 0) throw new NativeError(op, status as number, String(this.#fn.gust_last_error()));
  }

  #call(op: SymbolName, ...args: unknown[]): void {
    this.ffiCalls++;
    this.#check(op, this.#fn[op](...args));
  }

  alloc(byteLength: number): DeviceBuffer {
    if (!Number.isSafeInteger(byteLength) || byteLength < 0) {
      throw new RangeError(`alloc: bad byte length ${byteLength}`);
    }
    this.#call("gust_alloc", byteLength, this.#outPtr);
    const address = Number(this.#outPtr[0]);
    return new NativeBuffer(address, byteLength, (p) => this.#fn.gust_free(p));
  }

  fromHost(host: ArrayBufferView): DeviceBuffer {
    const buffer = this.alloc(host.byteLength);
    this.upload(buffer, host);
    return buffer;
  }

  borrowHost(host: ArrayBufferView): DeviceBuffer {
    if (!this.sharesHostMemory) throw new Error(`The ${this.kind} backend cannot borrow host memory; use fromHost.`);
    if (host.byteLength === 0) return this.alloc(0);
    return new NativeBuffer(hostPtr(host as DataView), host.byteLength, null, host);
  }

  upload(dst: DeviceBuffer, host: ArrayBufferView, dstOffset = 0): void {
    if (dstOffset + host.byteLength > dst.byteLength) {
      throw new RangeError(
        `upload: ${host.byteLength} bytes at offset ${dstOffset} overflow a ${dst.byteLength}-byte buffer`,
      );
    }
    if (host.byteLength === 0) return;
    this.#call("gust_upload", dst.ptr, dstOffset, host, host.byteLength);
  }

  download<T extends ArrayBufferView>(src: DeviceBuffer, host: T, srcOffset = 0): T {
    if (srcOffset + host.byteLength > src.byteLength) {
      throw new RangeError(
        `download: ${host.byteLength} bytes at offset ${srcOffset} overflow a ${src.byteLength}-byte buffer`,
      );
    }
    if (host.byteLength > 0) this.#call("gust_download", host, src.ptr, srcOffset, host.byteLength);
    return host;
  }

  copy(dst: DeviceBuffer, dstOffset: number, src: DeviceBuffer, srcOffset: number, byteLength: number): void {
    if (dstOffset + byteLength > dst.byteLength || srcOffset + byteLength > src.byteLength) {
      throw new RangeError(`copy: ${byteLength} bytes overflow a buffer`);
    }
    this.#call("gust_copy", dst.ptr, dstOffset, src.ptr, srcOffset, byteLength);
  }

  synchronize(): void {
    this.#call("gust_synchronize");
  }

  readProbe(buffer: DeviceBuffer): number {
    const out = new Float32Array(1);
    this.#call("gust_read_probe", buffer.ptr, buffer.byteLength, out);
    return out[0];
  }

  memoryInfo(): { freeBytes: number; totalBytes: number } {
    const free = new BigUint64Array(1), total = new BigUint64Array(1);
    this.#call("gust_memory_info", free, total);
    return { freeBytes: Number(free[0]), totalBytes: Number(total[0]) };
  }

  fillRandom(buffer: DeviceBuffer, f: RandomFill, byteOffset = 0): void {
    if (byteOffset + f.count * dtypeBytes[f.dtype] > buffer.byteLength) {
      throw new RangeError(
        `fillRandom: ${f.count} elements at byte ${byteOffset} overflow a ${buffer.byteLength}-byte buffer`,
      );
    }
    const { seed, tensorId, firstIndex, offset, scale } = f;
    this.#call(
      "gust_fill_random",
      buffer.ptr + byteOffset,
      f.count,
      f.dtype,
      seed | 0,
      tensorId | 0,
      firstIndex,
      offset,
      scale,
    );
  }

  fp8Quantize(codes: DeviceBuffer, x: DeviceBuffer, n: number, scale: number): void {
    this.#call("gust_fp8_quantize", codes.ptr, x.ptr, n, scale);
  }

  fp8Dequantize(y: DeviceBuffer, codes: DeviceBuffer, n: number, scale: number): void {
    this.#call("gust_fp8_dequantize", y.ptr, codes.ptr, n, scale);
  }

  embed(out: DeviceBuffer, table: WeightRef, ids: DeviceBuffer, numTokens: number, vocab: number, dim: number): void {
    this.#call("gust_embed", out.ptr, table.buffer.ptr, table.dtype, ids.ptr, numTokens, vocab, dim);
  }

  linear(y: DeviceBuffer, x: DeviceBuffer, w: WeightRef, numTokens: number, nOut: number, kIn: number): void {
    this.#call("gust_linear", y.ptr, x.ptr, w.buffer.ptr, w.dtype, numTokens, nOut, kIn, w.actScale, w.weightScale);
  }

  rmsnorm(y: DeviceBuffer, x: DeviceBuffer, weight: WeightRef, numTokens: number, dim: number, eps: number): void {
    this.#call("gust_rmsnorm", y.ptr, x.ptr, weight.buffer.ptr, weight.dtype, numTokens, dim, eps);
  }

  rope(
    x: DeviceBuffer,
    positions: DeviceBuffer,
    cos: DeviceBuffer,
    sin: DeviceBuffer,
    numTokens: number,
    numHeads: number,
    headDim: number,
    tableLen: number,
  ): void {
    this.#call("gust_rope", x.ptr, positions.ptr, cos.ptr, sin.ptr, numTokens, numHeads, headDim, tableLen);
  }

  queryScale(
    q: DeviceBuffer,
    positions: DeviceBuffer,
    numTokens: number,
    width: number,
    beta: number,
    originalMax: number,
  ): void {
    this.#call("gust_query_scale", q.ptr, positions.ptr, numTokens, width, beta, originalMax);
  }

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
    kvFormat: KvFormat = f32KvFormat,
  ): void {
    this.#call(
      "gust_kv_write",
      kCache.ptr,
      vCache.ptr,
      k.ptr,
      v.ptr,
      slots.ptr,
      numTokens,
      numKvHeads,
      headDim,
      numBlocks,
      blockSize,
      kvFormat.dtype,
      kvFormat.kScale,
      kvFormat.vScale,
    );
  }

  attention(a: AttentionArgs): void {
    this.#call(
      "gust_attention",
      a.out.ptr,
      a.q.ptr,
      a.kCache.ptr,
      a.vCache.ptr,
      a.queryStarts.ptr,
      a.contextLens.ptr,
      a.blockTables.ptr,
      a.numSeqs,
      a.numTokens,
      a.numHeads,
      a.numKvHeads,
      a.headDim,
      a.blockSize,
      a.maxBlocksPerSeq,
      a.numBlocks,
      a.scale,
      (a.kvFormat ?? f32KvFormat).dtype,
      (a.kvFormat ?? f32KvFormat).kScale,
      (a.kvFormat ?? f32KvFormat).vScale,
    );
  }

  siluMul(out: DeviceBuffer, gate: DeviceBuffer, up: DeviceBuffer, n: number): void {
    this.#call("gust_silu_mul", out.ptr, gate.ptr, up.ptr, n);
  }

  add(out: DeviceBuffer, a: DeviceBuffer, b: DeviceBuffer, n: number): void {
    this.#call("gust_add", out.ptr, a.ptr, b.ptr, n);
  }

  argmax(out: DeviceBuffer, x: DeviceBuffer, numRows: number, rowLen: number): void {
    this.#call("gust_argmax", out.ptr, x.ptr, numRows, rowLen);
  }

  gatherRows(
    out: DeviceBuffer,
    x: DeviceBuffer,
    rows: DeviceBuffer,
    numRows: number,
    rowLen: number,
    numSrcRows: number,
  ): void {
    this.#call("gust_gather_rows", out.ptr, x.ptr, rows.ptr, numRows, rowLen, numSrcRows);
  }

  sample(a: SampleArgs): void {
    const head = [a.outTokens.ptr, a.outLogprobs.ptr, a.outTopIds.ptr, a.logits.ptr, a.numLogitRows, a.vocab];
    this.#call("gust_sample", ...head, ...sampleRows(a), a.maxLogprobs);
  }

  sampleWeights(a: SampleWeightsArgs): void {
    this.#call("gust_sample_weights", a.out.ptr, a.totals.ptr, a.logits.ptr, a.numRows, a.vocab, a.temperature);
  }

  verifyDrafts(a: VerifyArgs): void {
    const head = [a.outAccepted.ptr, a.outNext.ptr, a.logits.ptr, a.numLogitRows, a.vocab];
    const tail = [a.proposals.ptr, a.numProposals, a.draftIds?.ptr ?? null, a.draftProbs?.ptr ?? null, a.numDrafts];
    this.#call("gust_verify_drafts", ...head, ...sampleRows(a), ...tail);
  }

  step(model: PackedStepModel, call: StepCall): void {
    const { desc, sample } = packStep(model, call);
    this.#call("gust_step", hostPtr(desc));
    void sample; // alive until the call returned (the descriptor points at it)
  }

  launchCount(): number {
    const out = new BigUint64Array(1);
    this.#call("gust_launch_count", out);
    return Number(out[0]);
  }

  gelu(out: DeviceBuffer, x: DeviceBuffer, n: number): void {
    this.#call("gust_gelu", out.ptr, x.ptr, n);
  }

  scatterRows(
    out: DeviceBuffer,
    x: DeviceBuffer,
    rows: DeviceBuffer,
    numRows: number,
    rowLen: number,
    numDstRows: number,
  ): void {
    this.#call("gust_scatter_rows", out.ptr, x.ptr, rows.ptr, numRows, rowLen, numDstRows);
  }

  segmentAttention(a: SegmentAttentionArgs): void {
    this.#call(
      "gust_segment_attention",
      a.out.ptr,
      a.q.ptr,
      a.k.ptr,
      a.v.ptr,
      a.segmentStarts.ptr,
      a.numSegments,
      a.numTokens,
      a.numHeads,
      a.numKvHeads,
      a.headDim,
      a.scale,
    );
  }

  commUniqueId(): Uint8Array {
    const id = new Uint8Array(COMM_ID_BYTES);
    this.#call("gust_comm_unique_id", id);
    return id;
  }

  commDeviceCount(): number {
    const out = new Int32Array(1);
    this.#call("gust_comm_device_count", out);
    return out[0];
  }

  commInit(id: Uint8Array, numRanks: number, rank: number, timeoutMs: number): Communicator {
    if (id.byteLength !== COMM_ID_BYTES) throw new RangeError(`A communicator id has ${COMM_ID_BYTES} bytes`);
    const out = new BigUint64Array(1);
    return openCommunicator((op, ...args) => this.#call(op, ...args), out, id, numRanks, rank, timeoutMs);
  }

  close(): void {
    this.#close();
  }
}

const opened = new Map<string, Backend>();

/** Loads (once per process and kind) the kernel library, checks its ABI version and runs the self-test. */
export function createBackend(kind: BackendKind = "cpu", options: BackendOptions = {}): Backend {
  const key = `${kind}:${options.numThreads ?? 0}`;
  const cached = opened.get(key);
  if (cached) return cached;
  if (kind === "cpu") applyOmpWaitDefaults();
  const lib = openLibrary(libraryPath(kind));
  const version = lib.symbols.gust_abi_version() as number;
  if (version !== GUST_ABI_VERSION) {
    lib.close();
    throw new Error(`${lib.path} speaks ABI ${version}, this code expects ${GUST_ABI_VERSION}: run \`npm run build\`.`);
  }
  let backend: NativeBackend;
  try {
    // gust_init fails cleanly where the library cannot run (the CUDA one on a machine without a GPU)
    const numThreads = options.numThreads || (kind === "cpu" ? defaultCpuThreads() : 0);
    backend = new NativeBackend(kind, lib.symbols, lib.close, numThreads);
  } catch (err) {
    lib.close();
    throw err;
  }
  if (!options.skipSelfTest) {
    const failures = runSelfTest(backend);
    if (failures.length > 0) {
      throw new Error(`Kernel self-test of ${lib.path} failed; refusing to start:\n  ${failures.join("\n  ")}`);
    }
  }
  opened.set(key, backend);
  return backend;
}
