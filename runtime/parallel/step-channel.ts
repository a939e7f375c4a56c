// Rank 0 → followers: each step's small descriptor (which model and KV cache, and the ForwardBatch) over
// the communicator's broadcast, which on the CPU is shared memory. A message is a 2-word header
// [kind, words] broadcast first, then `words` 4-byte words of payload.
//
// Step payload (int32 words unless marked f32):
//   [modelId, cacheId, numBlocks, blockSize, maxBlocksPerSeq, flags]
//   then sections, each [length, ...values]: tokenIds, positions, slots, queryStarts, contextLens, blockTables,
//   logitRows, hiddenRows, imageRows, imageValues (f32), inputEmbeddings (f32).
//   flags bit 0: imageEmbeddings present; bit 1: inputEmbeddings present; bit 2: hiddenRows present;
//   bits 3–4: the KV cache's storage (0 f32, 1 bf16, 2 fp8), so a follower's cache stores what rank 0's does.
// Example: one sequence decoding token 7 at position 3, block 2 of size 4, target model, cache 1:
//   [0, 1, 512, 4, 1, 0,  1, 7,  1, 3,  1, 11,  2, 0, 1,  1, 4,  1, 2,  1, 0,  0,  0,  0,  0]
import type { Backend, Communicator, DeviceBuffer } from "../../ffi/backend.ts";
import type { ForwardBatch } from "../model/batch.ts";
import type { KvCacheDtype } from "../model/kv-cache.ts";

const kvDtypeCodes: readonly KvCacheDtype[] = ["f32", "bf16", "fp8"];

export const MessageKind = { Step: 1, Shutdown: 2 } as const;

export interface StepMessage {
  modelId: number;
  cacheId: number;
  numBlocks: number;
  blockSize: number;
  kvDtype: KvCacheDtype;
  batch: ForwardBatch;
}

export function encodeStep(m: StepMessage): Int32Array {
  const b = m.batch;
  const flags = (b.imageEmbeddings ? 1 : 0) | (b.inputEmbeddings ? 2 : 0) | (b.hiddenRows ? 4 : 0) |
    (kvDtypeCodes.indexOf(m.kvDtype) << 3);
  const empty = new Int32Array(0);
  const f32 = (x: Float32Array | undefined) => (x ? new Int32Array(x.buffer, x.byteOffset, x.length) : empty);
  const sections = [
    b.tokenIds,
    b.positions,
    b.slots,
    b.queryStarts,
    b.contextLens,
    b.blockTables,
    b.logitRows,
    b.hiddenRows ?? empty,
    b.imageEmbeddings?.rows ?? empty,
    f32(b.imageEmbeddings?.values),
    f32(b.inputEmbeddings),
  ];
  const out = new Int32Array(6 + sections.reduce((n, s) => n + 1 + s.length, 0));
  out.set([m.modelId, m.cacheId, m.numBlocks, m.blockSize, b.maxBlocksPerSeq, flags]);
  let at = 6;
  for (const s of sections) {
    out[at++] = s.length;
    out.set(s, at);
    at += s.length;
  }
  return out;
}

export function decodeStep(words: Int32Array): StepMessage {
  let at = 6;
  const next = () => {
    const n = words[at++];
    const s = words.slice(at, at + n);
    at += n;
    return s;
  };
  const asF32 = (s: Int32Array) => new Float32Array(s.buffer, s.byteOffset, s.length);
  const [modelId, cacheId, numBlocks, blockSize, maxBlocksPerSeq, flags] = words;
  const tokenIds = next(), positions = next(), slots = next(), queryStarts = next(), contextLens = next();
  const blockTables = next(), logitRows = next(), hiddenRows = next(), imageRows = next();
  const imageValues = asF32(next()), inputEmbeddings = asF32(next());
  const batch: ForwardBatch = {
    tokenIds,
    positions,
    slots,
    queryStarts,
    contextLens,
    blockTables,
    maxBlocksPerSeq,
    logitRows,
    ...(flags & 4 ? { hiddenRows } : {}),
    ...(flags & 1 ? { imageEmbeddings: { rows: imageRows, values: imageValues } } : {}),
    ...(flags & 2 ? { inputEmbeddings } : {}),
  };
  return { modelId, cacheId, numBlocks, blockSize, kvDtype: kvDtypeCodes[(flags >> 3) & 3], batch };
}

/** Both ends of the channel: rank 0 sends, the followers receive, through the same broadcast calls. */
export class StepChannel {
  readonly #header: DeviceBuffer;
  #payload: DeviceBuffer;

  constructor(readonly backend: Backend, readonly comm: Communicator) {
    this.#header = backend.alloc(8);
    this.#payload = backend.alloc(4096);
  }

  send(kind: number, payload: Int32Array = new Int32Array(0)): void {
    this.backend.upload(this.#header, new Int32Array([kind, payload.length]));
    this.comm.broadcast(this.#header, 8, 0);
    this.#fit(payload.byteLength);
    this.backend.upload(this.#payload, payload);
    this.comm.broadcast(this.#payload, payload.byteLength, 0);
  }

  receive(): { kind: number; payload: Int32Array } {
    this.comm.broadcast(this.#header, 8, 0);
    const [kind, words] = this.backend.download(this.#header, new Int32Array(2));
    this.#fit(words * 4);
    this.comm.broadcast(this.#payload, words * 4, 0);
    return { kind, payload: this.backend.download(this.#payload, new Int32Array(words)) };
  }

  #fit(bytes: number): void {
    if (bytes <= this.#payload.byteLength) return;
    this.#payload.dispose();
    this.#payload = this.backend.alloc(Math.max(bytes, this.#payload.byteLength * 2));
  }

  dispose(): void {
    this.#header.dispose();
    this.#payload.dispose();
  }
}
