// safetensors files: the header is read and checked eagerly, tensor bytes are memory-mapped on first
// use so a 125 GB checkpoint never passes through the JS heap.
//
// File layout: [u64 little-endian header length n][n bytes of JSON header][data]. Each header entry
// {dtype, shape, data_offsets: [begin, end]} addresses bytes relative to the start of data.
// Example: n = 136 and an entry with data_offsets [64, 192] → file bytes 8 + 136 + 64 .. 8 + 136 + 192.
import { closeSync, fstatSync, openSync, readSync } from "node:fs";

export type SafetensorsDType =
  | "BF16"
  | "F16"
  | "F32"
  | "F8_E4M3"
  | "I32"
  | "U8"
  | "I64"
  | "F64"
  | "BOOL"
  | "I8"
  | "I16"
  | "U16";

export const safetensorsDTypeBytes: Record<SafetensorsDType, number> = {
  BF16: 2,
  F16: 2,
  F32: 4,
  F8_E4M3: 1,
  I32: 4,
  U8: 1,
  I64: 8,
  F64: 8,
  BOOL: 1,
  I8: 1,
  I16: 2,
  U16: 2,
};

export interface TensorInfo {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  /** Absolute byte range in the file. */
  begin: number;
  end: number;
  file: string;
}

export class SafetensorsError extends Error {
  constructor(file: string, detail: string) {
    super(`${file}: ${detail}`);
    this.name = "SafetensorsError";
  }
}

const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export interface SafetensorsOpenOptions {
  /** Index the header only: the data may be absent (planning from header-only stand-ins), bytes() refuses. */
  headerOnly?: boolean;
}

export class SafetensorsFile {
  readonly tensors = new Map<string, TensorInfo>();
  readonly metadata: Record<string, string> = {};
  readonly headerOnly: boolean;
  #mapped: Uint8Array | null = null;

  constructor(readonly path: string, options: SafetensorsOpenOptions = {}) {
    this.headerOnly = options.headerOnly ?? false;
    const fd = openSync(path, "r");
    try {
      const fileSize = fstatSync(fd).size;
      if (fileSize < 8) {
        throw new SafetensorsError(path, `truncated: ${fileSize} bytes, shorter than the 8-byte header length`);
      }
      const lenBytes = Buffer.alloc(8);
      readSync(fd, lenBytes, 0, 8, 0);
      const headerLen = Number(lenBytes.readBigUInt64LE(0));
      if (headerLen > MAX_HEADER_BYTES || 8 + headerLen > fileSize) {
        throw new SafetensorsError(
          path,
          `truncated or corrupt header: it claims ${headerLen} bytes but the file has ${
            fileSize - 8
          } after the length field`,
        );
      }
      const headerBytes = Buffer.alloc(headerLen);
      readSync(fd, headerBytes, 0, headerLen, 8);
      let header: Record<string, unknown>;
      try {
        header = JSON.parse(headerBytes.toString("utf8"));
      } catch (err) {
        throw new SafetensorsError(
          path,
          `header is not valid JSON (truncated or corrupt file?): ${(err as Error).message}`,
        );
      }
      this.#index(header, 8 + headerLen, fileSize);
    } finally {
      closeSync(fd);
    }
  }

  #index(header: Record<string, unknown>, dataStart: number, fileSize: number): void {
    for (const [name, raw] of Object.entries(header)) {
      if (name === "__metadata__") {
        Object.assign(this.metadata, raw as Record<string, string>);
        continue;
      }
      if (typeof raw !== "object" || raw === null) {
        throw new SafetensorsError(
          this.path,
          `header entry ${JSON.stringify(name)} is ${JSON.stringify(raw)}, not a tensor description`,
        );
      }
      const entry = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      const dtype = entry.dtype as SafetensorsDType;
      if (!(dtype in safetensorsDTypeBytes)) {
        throw new SafetensorsError(
          this.path,
          `tensor ${name} has dtype ${JSON.stringify(entry.dtype)}, not one of ${
            Object.keys(safetensorsDTypeBytes).join(", ")
          }`,
        );
      }
      const shape = entry.shape;
      if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
        throw new SafetensorsError(this.path, `tensor ${name} has an invalid shape ${JSON.stringify(shape)}`);
      }
      const offsets = entry.data_offsets;
      if (
        !Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
        offsets[1] < offsets[0]
      ) {
        throw new SafetensorsError(this.path, `tensor ${name} has invalid data_offsets ${JSON.stringify(offsets)}`);
      }
      const numel = (shape as number[]).reduce((a, b) => a * b, 1);
      const expected = numel * safetensorsDTypeBytes[dtype];
      if (offsets[1] - offsets[0] !== expected) {
        throw new SafetensorsError(
          this.path,
          `tensor ${name} (${dtype} ${JSON.stringify(shape)}) should span ${expected} bytes, its offsets span ${
            offsets[1] - offsets[0]
          }`,
        );
      }
      const begin = dataStart + offsets[0], end = dataStart + offsets[1];
      if (end > fileSize && !this.headerOnly) {
        throw new SafetensorsError(
          this.path,
          `truncated: tensor ${name} ends at byte ${end} but the file has ${fileSize} bytes`,
        );
      }
      this.tensors.set(name, { name, dtype, shape: shape as number[], begin, end, file: this.path });
    }
  }

  /** The tensor's bytes, a view into the memory-mapped file (no copy). */
  bytes(info: TensorInfo): Uint8Array {
    if (this.headerOnly) throw new SafetensorsError(this.path, `opened for its header only; ${info.name} was not read`);
    this.#mapped ??= Bun.mmap(this.path, { shared: false });
    return this.#mapped.subarray(info.begin, info.end);
  }
}

/** Reads an f32 scalar tensor stored with shape [] or [1] (FP8 scales). */
export function readScalarF32(file: SafetensorsFile, info: TensorInfo): number {
  const numel = info.shape.reduce((a, b) => a * b, 1);
  if (numel !== 1) {
    throw new SafetensorsError(
      info.file,
      `tensor ${info.name} should be a scalar ([] or [1]), has shape ${JSON.stringify(info.shape)}`,
    );
  }
  const b = file.bytes(info);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (info.dtype === "F32") return view.getFloat32(0, true);
  if (info.dtype === "BF16") return new Float32Array(new Uint32Array([view.getUint16(0, true) << 16]).buffer)[0];
  if (info.dtype === "F64") return view.getFloat64(0, true);
  throw new SafetensorsError(info.file, `scale tensor ${info.name} has dtype ${info.dtype}; expected F32`);
}
