// Scratch activations for one forward pass, grown on demand and reused across steps. Capacity doubles (few
// reallocations as steps grow) but stops at the step cap, so a runtime whose steps stay within its caps holds
// exactly textWorkspaceBytes(cap) at most: the number `gust plan` and the KV pool sizing reserve.
import type { Backend, DeviceBuffer } from "../../ffi/backend.ts";
import type { TextConfig } from "../config/text-config.ts";
import type { ShardLayout } from "../parallel/layout.ts";

const F32 = 4, I32 = 4;

/**
 * Bytes of Workspace's activation buffers at `tokens` step tokens and `rows` logits rows, for one rank of
 * `layout` (the full config `c`; TP 1 is shardLayout(c, 1)). Under TP, TextModel's lm_head gather adds this
 * rank's vocabulary block and all N blocks, ceil(V / N) floats per row each.
 * Example (Medium 3.5, TP 1, 2,048 tokens, 64 rows): 2,048 × (4·(3·12288 + 2·12288 + 2·1024 + 2·28672) + 12)
 * + 64 × (4·(2·12288 + 131072) + 4) = 989,880,320 + 39,846,144 = 1,029,726,464 B.
 */
export function textWorkspaceBytes(c: TextConfig, layout: ShardLayout, tokens: number, rows: number): number {
  const C = c.hiddenSize, qWidth = layout.headsPerRank * c.headDim, kvWidth = layout.kvHeadsPerRank * c.headDim;
  // h, normed, proj | q, attn | k, v | gate, up | ids, positions, slots
  const perToken = F32 * (3 * C + 2 * qWidth + 2 * kvWidth + 2 * layout.intermediatePerRank) + 3 * I32;
  // rows, rowsNormed | logits over the whole vocabulary (gathered for sampling) | rowIndex
  const perRow = F32 * (2 * C + c.vocabSize) + I32;
  const gather = layout.tpSize > 1 ? F32 * layout.vocabPerRank * (1 + layout.tpSize) : 0;
  return tokens * perToken + rows * (perRow + gather);
}

/** The largest step the runtime runs: tokens (--max-batched-tokens) and logits rows (--max-num-seqs). */
export interface StepCaps {
  maxTokens: number;
  maxRows: number;
}

/**
 * New capacity for `need` when `old` is too small: doubled (at least `least`), but not past `cap` unless this
 * one step needs more. Example: cap 2,048, capacity 1,300, a step of 1,400 → 2,048 (doubling alone: 2,600).
 */
export function grownCapacity(need: number, old: number, least: number, cap: number): number {
  return Math.max(need, Math.min(Math.max(2 * old, least), cap));
}

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

  constructor(
    readonly backend: Backend,
    readonly config: TextConfig,
    /** Growth stops here (unbounded doubling when absent: tests and `gust run` size steps themselves). */
    readonly caps: StepCaps = { maxTokens: Infinity, maxRows: Infinity },
  ) {}

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
    const { maxTokens, maxRows } = this.caps;
    if (numTokens > this.tokenCapacity) this.#growTokens(grownCapacity(numTokens, this.tokenCapacity, 16, maxTokens));
    if (numRows > this.rowCapacity) this.#growRows(grownCapacity(numRows, this.rowCapacity, 4, maxRows));
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
