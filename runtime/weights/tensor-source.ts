// Where a model's tensors come from: a checkpoint on disk (runtime/weights/checkpoint.ts) or random weights made
// in the backend's memory (runtime/weights/random-source.ts). The weight loader reads names, shapes and scales
// through this and asks the source to place each tensor, so both run through the same model code.
import type { Backend, DeviceBuffer } from "../../ffi/backend.ts";
import type { TensorInfo } from "./safetensors.ts";

export interface TensorSource {
  /** Where the tensors come from (a directory, or a random model's name), for messages. */
  readonly dir: string;
  /** Bytes of every tensor (load progress). */
  readonly totalBytes: number;
  has(name: string): boolean;
  info(name: string): TensorInfo;
  /** A scalar tensor's value (FP8 scales). */
  scalar(name: string): number;
  /** The tensor in the backend's memory. `prepare` rewrites host bytes (head permutation, a rank's slice): a
   *  source without host bytes refuses it. */
  place(backend: Backend, name: string, prepare?: (bytes: Uint8Array) => Uint8Array): DeviceBuffer;
}
