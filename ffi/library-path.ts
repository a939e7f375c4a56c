// Where the built kernel libraries live, and a clear error when they are missing.
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export type BackendKind = "cpu" | "cuda";

export const kernelBuildDir = resolve(dirname(fileURLToPath(import.meta.url)), "..", "kernels", "build");

export function libraryPath(kind: BackendKind): string {
  const path = join(process.env.GUST_KERNELS_DIR ?? kernelBuildDir, `libgust_${kind}.so`);
  if (!existsSync(path)) {
    const hint = kind === "cuda" ? " (it is built only where nvcc exists)" : "";
    throw new Error(`Native library ${path} is missing${hint}: run \`npm run build\` first.`);
  }
  return path;
}
