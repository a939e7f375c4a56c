// `gust run`: one generation without a server (DESIGN §3). Prints text, or one JSON object with --json.
import { parseArgs } from "node:util";
import { createBackend } from "../../ffi/backend.ts";
import type { BackendKind } from "../../ffi/library-path.ts";
import { generate } from "../model/generate.ts";
import { loadModel, progressPrinter } from "../model/load-model.ts";
import { UsageError, parseFloatArg, parseIdList, parseIntArg } from "./usage-error.ts";

export const runUsage = `gust run --model DIR --ids 1,2,3 [--max-tokens N] [--temperature T] [--seed S]
         [--ignore-eos] [--backend cpu|cuda] [--threads N] [--json]`;

export async function runCommand(argv: string[]): Promise<string> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        model: { type: "string" },
        ids: { type: "string" },
        prompt: { type: "string" },
        messages: { type: "string" },
        "max-tokens": { type: "string" },
        temperature: { type: "string" },
        seed: { type: "string" },
        "ignore-eos": { type: "boolean" },
        backend: { type: "string" },
        threads: { type: "string" },
        json: { type: "boolean" },
      },
      strict: true,
    }));
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\nusage: ${runUsage}`);
  }
  if (!values.model) throw new UsageError(`--model DIR is required\nusage: ${runUsage}`);
  if (values.prompt !== undefined || values.messages !== undefined)
    throw new UsageError("--prompt and --messages need the chat encoder, which is not wired into `gust run` yet; pass --ids");
  if (!values.ids) throw new UsageError(`--ids is required\nusage: ${runUsage}`);
  const backendKind = (values.backend ?? "cpu") as BackendKind;
  if (backendKind !== "cpu" && backendKind !== "cuda") throw new UsageError(`--backend must be cpu or cuda, got "${values.backend}"`);
  const promptIds = parseIdList(values.ids);
  const maxTokens = parseIntArg("max-tokens", values["max-tokens"], 64);
  const temperature = parseFloatArg("temperature", values.temperature, 0);
  const seed = parseIntArg("seed", values.seed, 0);
  const threads = parseIntArg("threads", values.threads, 0);

  const backend = createBackend(backendKind, { numThreads: threads });
  const loaded = loadModel(values.model, backend, { onProgress: progressPrinter() });
  try {
    const result = generate(backend, loaded.model, promptIds, {
      maxTokens, temperature, seed, ignoreEos: values["ignore-eos"] ?? false,
    });
    if (values.json) {
      return JSON.stringify({
        prompt_ids: result.promptIds,
        ids: result.ids,
        finish_reason: result.finishReason,
        usage: {
          prompt_tokens: result.promptIds.length,
          completion_tokens: result.ids.length,
          total_tokens: result.promptIds.length + result.ids.length,
        },
      });
    }
    return `${result.ids.join(",")}\nfinish_reason: ${result.finishReason}`;
  } finally {
    loaded.dispose();
  }
}
