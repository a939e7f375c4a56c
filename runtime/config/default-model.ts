// The model `npm start` / `gust dev` serve when no --model is given: gust-mini (models/gust-mini, trained by
// tools/gust-mini on an H100), with its EAGLE draft head so speculative decoding is on by default.
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

export const defaultModelDir = join(repoRoot, "models", "gust-mini");
export const defaultDraftDir = join(defaultModelDir, "draft");
export const defaultModelNote =
  "gust-mini, a 7.5M-parameter model trained on synthetic tasks (sums, tool calls, JSON, recall, coloured shapes), " +
  "with its EAGLE draft head";
