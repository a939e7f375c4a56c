// The floor under a batch-1 CPU decode, which reads every weight once per token: the machine's single-thread read
// rate (kernels/lab/read_floor.c, built here with the system compiler) and the bytes a decode token reads.
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SafetensorsFile } from "../../runtime/weights/safetensors.ts";

const source = join(import.meta.dir, "../../kernels/lab/read_floor.c");

/** Best GB/s of a few single-thread streaming passes over `mebibytes` of memory. */
export function readFloorGBps(mebibytes = 512): number {
  const binary = join(tmpdir(), `gust-read-floor-${process.pid}`);
  execFileSync(process.env.CC ?? "cc", ["-O2", "-mavx2", source, "-o", binary]);
  return Number(execFileSync(binary, [String(mebibytes)], { encoding: "utf8" }).trim());
}

/** Bytes of every tensor in a checkpoint directory but the embedding table, of which a token reads one row. */
export function decodeBytesPerToken(dir: string): number {
  let bytes = 0;
  for (const name of readdirSync(dir).filter((f) => f.endsWith(".safetensors"))) {
    const file = new SafetensorsFile(join(dir, name), { headerOnly: true });
    for (const info of file.tensors.values()) if (!/embed/.test(info.name)) bytes += info.end - info.begin;
  }
  return bytes;
}
