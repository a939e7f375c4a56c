// Writes a safetensors file (benchmarks' synthetic checkpoints, tests' deliberately broken files).
import { closeSync, openSync, writeSync } from "node:fs";
import { type SafetensorsDType, safetensorsDTypeBytes } from "./safetensors.ts";

export interface TensorToWrite {
  dtype: SafetensorsDType;
  shape: number[];
  data: Uint8Array;
}

export function encodeSafetensorsHeader(
  tensors: Record<string, TensorToWrite>,
): { header: Uint8Array; order: string[] } {
  const order = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const name of order) {
    const t = tensors[name];
    const expected = t.shape.reduce((a, b) => a * b, 1) * safetensorsDTypeBytes[t.dtype];
    if (expected !== t.data.byteLength) {
      throw new RangeError(`${name}: ${t.data.byteLength} bytes for ${t.dtype} [${t.shape}] (expected ${expected})`);
    }
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (json.length % 8)) % 8); // data starts 8-byte aligned
  return { header: new TextEncoder().encode(json), order };
}

export function writeSafetensors(path: string, tensors: Record<string, TensorToWrite>): void {
  const { header, order } = encodeSafetensorsHeader(tensors);
  const fd = openSync(path, "w");
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.byteLength));
    writeSync(fd, len);
    writeSync(fd, header);
    for (const name of order) writeSync(fd, tensors[name].data);
  } finally {
    closeSync(fd);
  }
}
