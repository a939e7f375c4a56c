// Scratch activations for one forward pass, grown on demand (capacity doubles) and reused across steps.
import type { Backend, DeviceBuffer } from "../../ffi/backend.ts";
import type { TextConfig } from "../config/text-config.ts";

export class Workspace {
  tokenCapacity = 0;
  rowCapacity = 0;
  h!: DeviceBuffer; // residual stream [T, C]
  normed!: DeviceBuffer; // [T, C]
  q!: DeviceBuffer; // [T, H·D]
  k!: DeviceBuffer; // [T, KV·D]
  v!: DeviceBuffer; // [T, KV·D]
  attn!: DeviceBuffer; // [T, H·D]
  proj!: DeviceBuffer; // [T, C]
  gate!: DeviceBuffer; // [T, F]
  up!: DeviceBuffer; // [T, F]
  ids!: DeviceBuffer; // [T] int32
  positions!: DeviceBuffer; // [T] int32
  slots!: DeviceBuffer; // [T] int32
  rows!: DeviceBuffer; // selected final rows [R, C]
  rowsNormed!: DeviceBuffer; // [R, C]
  logits!: DeviceBuffer; // [R, V]
  rowIndex!: DeviceBuffer; // [R]
  queryStarts!: DeviceBuffer; // [S + 1] int32
  contextLens!: DeviceBuffer; // [S] int32
  blockTables!: DeviceBuffer; // [S · maxBlocksPerSeq] int32
  seqCapacity = 0;
  tableCapacity = 0;
  #buffers: DeviceBuffer[] = [];

  constructor(readonly backend: Backend, readonly config: TextConfig) {}

  /** Index buffers of the batch description, grown like the activations so a step allocates nothing. */
  ensureBatch(numSeqs: number, tableEntries: number): void {
    if (numSeqs > this.seqCapacity) {
      const s = Math.max(numSeqs, this.seqCapacity * 2, 8);
      this.#release(this.queryStarts, this.contextLens);
      this.queryStarts = this.#alloc((s + 1) * 4);
      this.contextLens = this.#alloc(s * 4);
      this.seqCapacity = s;
    }
    if (tableEntries > this.tableCapacity) {
      const t = Math.max(tableEntries, this.tableCapacity * 2, 64);
      this.#release(this.blockTables);
      this.blockTables = this.#alloc(t * 4);
      this.tableCapacity = t;
    }
  }

  ensure(numTokens: number, numRows: number): void {
    if (numTokens > this.tokenCapacity) this.#growTokens(Math.max(numTokens, this.tokenCapacity * 2, 16));
    if (numRows > this.rowCapacity) this.#growRows(Math.max(numRows, this.rowCapacity * 2, 4));
  }

  #alloc(bytes: number): DeviceBuffer {
    const b = this.backend.alloc(bytes);
    this.#buffers.push(b);
    return b;
  }

  #release(...old: (DeviceBuffer | undefined)[]): void {
    for (const b of old) if (b) b.dispose();
    this.#buffers = this.#buffers.filter((b) => !b.isDisposed);
  }

  #growTokens(t: number): void {
    const c = this.config;
    this.#release(
      this.h,
      this.normed,
      this.q,
      this.k,
      this.v,
      this.attn,
      this.proj,
      this.gate,
      this.up,
      this.ids,
      this.positions,
      this.slots,
    );
    this.h = this.#alloc(t * c.hiddenSize * 4);
    this.normed = this.#alloc(t * c.hiddenSize * 4);
    this.q = this.#alloc(t * c.numHeads * c.headDim * 4);
    this.k = this.#alloc(t * c.numKvHeads * c.headDim * 4);
    this.v = this.#alloc(t * c.numKvHeads * c.headDim * 4);
    this.attn = this.#alloc(t * c.numHeads * c.headDim * 4);
    this.proj = this.#alloc(t * c.hiddenSize * 4);
    this.gate = this.#alloc(t * c.intermediateSize * 4);
    this.up = this.#alloc(t * c.intermediateSize * 4);
    this.ids = this.#alloc(t * 4);
    this.positions = this.#alloc(t * 4);
    this.slots = this.#alloc(t * 4);
    this.tokenCapacity = t;
  }

  #growRows(r: number): void {
    const c = this.config;
    this.#release(this.rows, this.rowsNormed, this.logits, this.rowIndex);
    this.rows = this.#alloc(r * c.hiddenSize * 4);
    this.rowsNormed = this.#alloc(r * c.hiddenSize * 4);
    this.logits = this.#alloc(r * c.vocabSize * 4);
    this.rowIndex = this.#alloc(r * 4);
    this.rowCapacity = r;
  }

  dispose(): void {
    this.#release(...this.#buffers);
    this.tokenCapacity =
      this.rowCapacity =
      this.seqCapacity =
      this.tableCapacity =
        0;
  }
}
