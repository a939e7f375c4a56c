// Bundles a function's source into one ESM module with esbuild (what `gust deploy` sends and what
// `gust dev` loads on every save). Everything the function imports, Hono included, goes into the bundle,
// so a deployed function never depends on the gateway's node_modules.
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

export class BundleError extends Error {
  override name = "BundleError";
}

export async function bundleFunction(entry: string): Promise<string> {
  try {
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      write: false,
      format: "esm",
      platform: "neutral",
      target: "es2022",
      mainFields: ["module", "main"],
      conditions: ["import", "default"],
      logLevel: "silent",
      minify: false,
      // a function anywhere on disk can import hono and the SDK ("gust/sdk") from this installation
      nodePaths: [join(repoRoot, "node_modules")],
      alias: { "gust/sdk": join(repoRoot, "functions", "sdk", "index.ts") },
    });
    return result.outputFiles[0].text;
  } catch (err) {
    const errors = (err as { errors?: { text: string; location?: { file: string; line: number } }[] }).errors ?? [];
    const detail = errors.map((e) => (e.location ? `${e.location.file}:${e.location.line}: ${e.text}` : e.text)).join(
      "\n  ",
    );
    throw new BundleError(`Cannot bundle ${entry}:\n  ${detail || (err as Error).message}`);
  }
}
