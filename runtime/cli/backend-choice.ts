// `--backend auto|cpu|cuda`: which kernel library a command runs on. `auto` takes the CUDA library when
// it loads and finds a usable GPU, and otherwise falls back to the CPU library with a one-line note on
// stderr that says why, so a GPU-less machine still runs but nobody mistakes it for a GPU run.
import { type Backend, type BackendOptions, createBackend } from "../../ffi/backend.ts";
import type { BackendKind } from "../../ffi/library-path.ts";
import { UsageError } from "./usage-error.ts";

export type BackendChoice = BackendKind | "auto";

export const backendUsage = "auto|cpu|cuda";

/** Validates the flag's value; `fallback` applies when the flag is absent. */
export function parseBackendFlag(raw: string | undefined, fallback: BackendChoice = "cpu"): BackendChoice {
  const value = raw ?? fallback;
  if (value !== "auto" && value !== "cpu" && value !== "cuda") {
    throw new UsageError(`--backend must be auto, cpu or cuda, got "${raw}"`);
  }
  return value;
}

/** Opens the chosen backend; `auto` tries CUDA first and reports the fallback through `note`. */
export function openBackend(
  choice: BackendChoice,
  options: BackendOptions = {},
  note: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Backend {
  if (choice !== "auto") return createBackend(choice, options);
  try {
    return createBackend("cuda", options);
  } catch (err) {
    note(
      `gust: --backend auto: running on the CPU backend because the CUDA backend is unavailable: ${
        (err as Error).message
      }`,
    );
    return createBackend("cpu", options);
  }
}
