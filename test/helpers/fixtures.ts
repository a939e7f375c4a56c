// Paths of the in-repo fixtures and readers for their golden tensors.
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { SafetensorsFile } from "../../runtime/weights/safetensors.ts";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const fixturesDir = join(repoRoot, "test", "fixtures");
export const fixtureDir = (name: string) => join(fixturesDir, name);

export class Golden {
  readonly file: SafetensorsFile;
  constructor(modelName: string) {
    this.file = new SafetensorsFile(join(fixtureDir(modelName), "golden.safetensors"));
  }

  has(name: string): boolean {
    return this.file.tensors.has(name);
  }

  f32(name: string): Float32Array {
    const info = this.file.tensors.get(name);
    if (!info || info.dtype !== "F32") throw new Error(`golden tensor ${name} missing or not F32`);
    return new Float32Array(this.file.bytes(info).slice().buffer);
  }

  i32(name: string): Int32Array {
    const info = this.file.tensors.get(name);
    if (!info || info.dtype !== "I32") throw new Error(`golden tensor ${name} missing or not I32`);
    return new Int32Array(this.file.bytes(info).slice().buffer);
  }

  /** Case names present in the golden file (those with input_ids and logits). */
  textCases(): string[] {
    return [...this.file.tensors.keys()]
      .filter((k) => k.endsWith(".input_ids"))
      .map((k) => k.slice(0, -".input_ids".length))
      .filter((c) => this.has(`${c}.logits`) && !this.has(`${c}.pixel_values`));
  }
}
