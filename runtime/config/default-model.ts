// The model `npm start` / `gust dev` serve when no --model is given. Until the trained gust-mini model
// ships (issue 10), it is the bundled tiny Mistral3 fixture (random weights, vision tower included):
// it exercises every path of the runtime, but its answers are noise.
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

export const defaultModelDir = join(repoRoot, "test", "fixtures", "tiny-mistral3");
export const defaultModelNote = "the bundled tiny fixture model (random weights: it runs every path, its answers are noise)";
