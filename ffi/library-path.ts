// Where the built kernel libraries live, and a clear error when they are missing.
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export type BackendKind = "cpu" | "cuda";

export const kernelBuildDir = resolve(dirname(fileURLToPath(import.meta.url)), "..", "kernels", "build");

export function libraryPath(kind: BackendKind): string {
  const path = join(process.env.GUST_KERNELS_DIR ?? kernelBuildDir, `libgust_${kind}.so`);
  if (!existsSync(path)) {
    if (kind === "cuda") {
      throw new Error(
        `Native library ${path} is missing: \`npm run build\` builds it only where nvcc (CUDA 13) is on PATH. ` +
          "Build on a machine with the CUDA toolkit (or copy kernels/build/libgust_cuda.so from one), or use --backend cpu.",
      );
    }
    throw new Error(`Native library ${path} is missing: run \`npm run build\` first.`);
  }
  return path;
}
