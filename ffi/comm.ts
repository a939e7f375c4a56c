// A tensor-parallel communicator over the gust_comm_* ABI (kernels/gust.h): every rank of one model copy
// holds one, and calls each collective in the same order with the same sizes.
import type { DeviceBuffer } from "./buffer.ts";
import type { SymbolName } from "./symbols.ts";

export interface Communicator {
  readonly rank: number;
  readonly numRanks: number;
  /** In place: every rank ends with the sum over ranks (rank order 0..N-1 on the CPU) of `count` f32. */
  allReduceSum(buffer: DeviceBuffer, count: number): void;
  /** dst[r · byteLength ..] = rank r's src, on every rank; dst holds numRanks · byteLength bytes. */
  allGather(dst: DeviceBuffer, src: DeviceBuffer, byteLength: number): void;
  broadcast(buffer: DeviceBuffer, byteLength: number, root: number): void;
  barrier(): void;
  destroy(): void;
}

type Call = (op: SymbolName, ...args: unknown[]) => void;

export class NativeCommunicator implements Communicator {
  #handle: number;

  constructor(readonly rank: number, readonly numRanks: number, handle: number, readonly call: Call) {
    this.#handle = handle;
  }

  #comm(): number {
    if (this.#handle === 0) throw new Error("Use of a destroyed communicator");
    return this.#handle;
  }

  allReduceSum(buffer: DeviceBuffer, count: number): void {
    if (count * 4 > buffer.byteLength) throw new RangeError(`allReduceSum: ${count} f32 overflow the buffer`);
    if (this.numRanks > 1) this.call("gust_comm_all_reduce_sum", this.#comm(), buffer.ptr, count);
  }

  allGather(dst: DeviceBuffer, src: DeviceBuffer, byteLength: number): void {
    if (byteLength > src.byteLength || byteLength * this.numRanks > dst.byteLength) {
      throw new RangeError(`allGather: ${byteLength} bytes per rank overflow a buffer`);
    }
    this.call("gust_comm_all_gather", this.#comm(), dst.ptr, src.ptr, byteLength);
  }

  broadcast(buffer: DeviceBuffer, byteLength: number, root: number): void {
    if (byteLength > buffer.byteLength) throw new RangeError(`broadcast: ${byteLength} bytes overflow the buffer`);
    if (this.numRanks > 1 && byteLength > 0) {
      this.call("gust_comm_broadcast", this.#comm(), buffer.ptr, byteLength, root);
    }
  }

  barrier(): void {
    this.call("gust_comm_barrier", this.#comm());
  }

  destroy(): void {
    if (this.#handle === 0) return;
    this.call("gust_comm_destroy", this.#handle);
    this.#handle = 0;
  }
}

/** The id travels to follower ranks on their command line as hex. */
export const commIdToHex = (id: Uint8Array): string => Buffer.from(id).toString("hex");
export const commIdFromHex = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex, "hex"));

/** Joins a communicator (blocks until every rank arrived or the timeout passed). */
export function openCommunicator(
  call: Call,
  outPtr: BigUint64Array,
  id: Uint8Array,
  numRanks: number,
  rank: number,
  timeoutMs: number,
): Communicator {
  call("gust_comm_init", outPtr, id, numRanks, rank, Math.max(1, Math.round(timeoutMs)));
  return new NativeCommunicator(rank, numRanks, Number(outPtr[0]), call);
}
