// The lm_head under tensor parallelism: each rank holds a slice of the vocabulary's rows (runtime/parallel/
// layout.ts), computes its logits and gathers every rank's into the full [R, V] rows the samplers read.
import type { Backend, DeviceBuffer } from "../../ffi/backend.ts";
import type { WeightRef } from "../../ffi/backend-api.ts";
import type { TextConfig } from "../config/text-config.ts";
import type { ModelParallel } from "./text-model.ts";

export class ShardedLmHead {
  #local: DeviceBuffer | undefined;
  #gathered: DeviceBuffer | undefined;

  constructor(
    readonly backend: Backend,
    readonly config: TextConfig,
    readonly lmHead: WeightRef,
    readonly parallel: ModelParallel,
  ) {}

  /** logits [R, V] from rowsNormed [R, C]: each rank computes its rows' logits [R, own count], all ranks gather
   *  the blocks (each padded to R · vocabStride floats) and lay them side by side.
   *  Example: V 10, N 3 (ranges 0..2, 3..5, 6..9; stride 4), R 2: rank 2's block holds [2, 4] at floats
   *  16..23 of the gather; logit row 1 takes its 4 values from float 16 + 1 · 4 into columns 6..9. */
  run(logits: DeviceBuffer, rowsNormed: DeviceBuffer, numRows: number): void {
    const c = this.config, b = this.backend, p = this.parallel, { comm } = p;
    const blockBytes = numRows * p.vocabStride * 4, own = p.vocabRanges[comm.rank];
    if (!this.#local || this.#local.byteLength < blockBytes) {
      this.release();
      this.#local = b.alloc(blockBytes);
      this.#gathered = b.alloc(blockBytes * comm.numRanks);
    }
    const local = this.#local, gathered = this.#gathered!;
    b.linear(local, rowsNormed, this.lmHead, numRows, own.end - own.start, c.hiddenSize);
    comm.allGather(gathered, local, blockBytes);
    p.vocabRanges.forEach(({ start, end }, r) => {
      const count = end - start;
      for (let row = 0; row < numRows; row++) {
        b.copy(logits, (row * c.vocabSize + start) * 4, gathered, r * blockBytes + row * count * 4, count * 4);
      }
    });
  }

  /** Frees the gather buffers; the next run allocates them again. */
  release(): void {
    this.#local?.dispose();
    this.#gathered?.dispose();
    this.#local = this.#gathered = undefined;
  }
}
