// `gust run`: one generation without a server (DESIGN §3), through the engine. Prints text, or one JSON
// object with --json: {prompt_ids, ids, text, reasoning, tool_calls, finish_reason, usage, spec}; with
// --n > 1 the object also carries `samples`, one such object per sample.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { JsonConstraints } from "../sampling/constraints.ts";
import { endsInsideThink, type ThinkIds } from "../engine/reasoning-budget.ts";
import { runOnce, type RunOnceSample } from "../engine/run-once.ts";
import { loadModel, progressPrinter } from "../model/load-model.ts";
import { loadDraft } from "../eagle/load-draft.ts";
import { defaultSpecOptions, Speculator } from "../eagle/speculator.ts";
import { type SamplingParams, SamplingParamsError } from "../sampling/params.ts";
import { loadTokenizer, readTextFile, type Tokenizer } from "../text/index.ts";
import { buildPrompt, runTextFields } from "./run-support.ts";
import { parseFlags, parseFloatArg, parseIdList, parseIntArg, UsageError } from "./usage-error.ts";
import { openBackend, parseBackendFlag } from "./backend-choice.ts";
import { kvCacheDtypeUsage, parseKvCacheDtypeFlag } from "./kv-flags.ts";
import { enforceEagerOption, enforceEagerUsage } from "./eager-flag.ts";
import { featuresFor, promptWithImages } from "./run-images.ts";
import { parseTensorParallel, tensorParallelOptions } from "./tensor-parallel-flag.ts";
import { ModelId, TensorParallelGroup } from "../parallel/leader.ts";

export const runUsage =
  `gust run --model DIR (--ids 1,2,3 | --prompt TEXT | --messages FILE) [--image FILE]... [--max-tokens N]
         [--temperature T] [--top-p P] [--top-k K] [--min-p P] [--seed S] [--n N] [--logprobs K]
         [--reasoning-effort none|high] [--reasoning-budget N] [--draft DIR [--spec-tokens K]]
         [--response-format text|json_object] [--ignore-eos] [--backend auto|cpu|cuda]
         [--threads N] [--tensor-parallel N | --tp N] [--kv-cache-dtype ${kvCacheDtypeUsage}] [--json]
         ${enforceEagerUsage}`;

const options = {
  model: { type: "string" },
  ids: { type: "string" },
  prompt: { type: "string" },
  messages: { type: "string" },
  "max-tokens": { type: "string" },
  temperature: { type: "string" },
  "top-p": { type: "string" },
  "top-k": { type: "string" },
  "min-p": { type: "string" },
  seed: { type: "string" },
  n: { type: "string" },
  logprobs: { type: "string" },
  "reasoning-effort": { type: "string" },
  "reasoning-budget": { type: "string" },
  image: { type: "string", multiple: true },
  draft: { type: "string" },
  "spec-tokens": { type: "string" },
  "ignore-eos": { type: "boolean" },
  "response-format": { type: "string" },
  backend: { type: "string" },
  threads: { type: "string" },
  "kv-cache-dtype": { type: "string" },
  json: { type: "boolean" },
  ...enforceEagerOption,
  ...tensorParallelOptions,
} as const;

function hasTokenizer(dir: string): boolean {
  return existsSync(join(dir, "tekken.json")) || existsSync(join(dir, "tokenizer.json"));
}

function thinkIdsOf(tok: Tokenizer | null): ThinkIds | null {
  const think = tok?.findControl("[THINK]"), endThink = tok?.findControl("[/THINK]");
  return think !== undefined && endThink !== undefined ? { think, endThink } : null;
}

export async function runCommand(argv: string[]): Promise<string> {
  const values = parseFlags(argv, options, runUsage);
  if (!values.model) throw new UsageError(`--model DIR is required\nusage: ${runUsage}`);
  const sources = [values.ids, values.prompt, values.messages].filter((v) => v !== undefined).length;
  if (sources !== 1) throw new UsageError(`give exactly one of --ids, --prompt and --messages\nusage: ${runUsage}`);
  const backendChoice = parseBackendFlag(values.backend);
  const kvDtype = parseKvCacheDtypeFlag(values["kv-cache-dtype"]);
  const effort = values["reasoning-effort"];
  if (effort !== undefined && effort !== "none" && effort !== "high") {
    throw new UsageError(`--reasoning-effort must be none or high, got "${effort}"`);
  }
  const budget = values["reasoning-budget"] === undefined
    ? null
    : parseIntArg("reasoning-budget", values["reasoning-budget"], 0);
  const maxTokens = parseIntArg("max-tokens", values["max-tokens"], 64, 1);
  const n = parseIntArg("n", values.n, 1, 1);
  const sampling: SamplingParams = {
    temperature: parseFloatArg("temperature", values.temperature, 0),
    topP: parseFloatArg("top-p", values["top-p"], 1),
    topK: parseIntArg("top-k", values["top-k"], 0),
    minP: parseFloatArg("min-p", values["min-p"], 0),
    seed: parseIntArg("seed", values.seed, 0),
    logprobs: values.logprobs === undefined ? undefined : parseIntArg("logprobs", values.logprobs, 0),
  };

  const imageFiles = values.image ?? [];
  if (imageFiles.length > 0 && values.messages !== undefined) {
    throw new UsageError(
      "--image goes with --ids (layout already in place) or --prompt; with --messages, put the images in the messages",
    );
  }
  const tok = hasTokenizer(values.model) ? await loadTokenizer(values.model) : null;
  let promptIds: number[];
  if (values.ids !== undefined) promptIds = parseIdList(values.ids);
  else {
    if (!tok) {
      throw new UsageError(
        `${values.model} has no tekken.json or tokenizer.json, so --prompt/--messages cannot be encoded; pass --ids`,
      );
    }
    // a budget above 0 asks for reasoning (model-spec §9: budget > 0 ↔ effort high)
    const reasoningEffort = effort ?? (budget !== null && budget > 0 ? "high" : undefined);
    let messagesJson: string | undefined;
    if (values.messages !== undefined) {
      const text = await readTextFile(values.messages);
      if (text === null) throw new UsageError(`--messages ${values.messages}: no such file`);
      messagesJson = text;
    }
    promptIds = values.prompt !== undefined && imageFiles.length > 0
      ? promptWithImages(tok, values.prompt, imageFiles, reasoningEffort)
      : buildPrompt(tok, { prompt: values.prompt, messagesJson, reasoningEffort }).ids;
  }

  const format = values["response-format"] ?? "text";
  if (format !== "text" && format !== "json_object") {
    throw new UsageError(`--response-format ${format}: allowed text, json_object`);
  }
  if (format === "json_object" && !tok) {
    throw new UsageError(
      `--response-format json_object needs the model's tokenizer (tekken.json or tokenizer.json in ${values.model})`,
    );
  }
  const json = format === "json_object" ? new JsonConstraints(tok!) : null;
  const thinkIds = thinkIdsOf(tok);
  const backend = openBackend(backendChoice, { numThreads: parseIntArg("threads", values.threads, 0) });
  const tensorParallel = parseTensorParallel(values);
  const group = tensorParallel > 1
    ? TensorParallelGroup.start(backend, { numRanks: tensorParallel, modelDir: values.model, draftDir: values.draft })
    : null;
  let loaded;
  try {
    loaded = loadModel(values.model, backend, {
      onProgress: progressPrinter(1 << 30, 0, tensorParallel),
      parallel: group?.placement(ModelId.Target),
      enforceEager: values["enforce-eager"] ?? false,
    });
  } catch (err) {
    group?.shutdown();
    throw err;
  }
  if (tok && tok.vocabSize < loaded.config.text.vocabSize) loaded.model.limitVocab(tok.vocabSize); // padding ids
  try {
    const images = imageFiles.length > 0 || promptIds.includes(loaded.config.imageTokenId ?? -1)
      ? featuresFor(loaded.config, backend, promptIds, imageFiles, values.prompt !== undefined)
      : undefined;
    const draft = values.draft
      ? loadDraft(values.draft, backend, loaded, group?.placement(ModelId.Draft).beforeStep)
      : null;
    group?.ready(); // every follower has loaded its shards
    const specTokens = parseIntArg("spec-tokens", values["spec-tokens"], defaultSpecOptions.k, 1);
    const blocks = n * Math.ceil((promptIds.length + maxTokens + specTokens + 1) / 16) + 1;
    const speculator = draft
      ? new Speculator(backend, loaded, draft, blocks, 16, { ...defaultSpecOptions, k: specTokens })
      : undefined;
    let samples: RunOnceSample[];
    try {
      samples = runOnce(backend, loaded.model, thinkIds, {
        speculativeTokens: specTokens,
        promptIds,
        maxTokens,
        n,
        sampling,
        ignoreEos: values["ignore-eos"] ?? false,
        reasoningBudget: budget,
        images,
        kvDtype,
        ...(json ? { wrapSampler: (f) => json.wrap(f, promptIds, budget !== 0), speculativeTokens: 0 } : {}),
      }, speculator);
    } catch (err) {
      if (err instanceof SamplingParamsError) throw new UsageError(err.message);
      throw err;
    } finally {
      speculator?.dispose();
      draft?.dispose();
    }
    const render = (s: RunOnceSample) => {
      const ids = s.tokens.map((t) => t.token);
      // when the prompt left a think block open, the output starts inside it: parse it as reasoning
      const parseIds = thinkIds && endsInsideThink(promptIds, thinkIds) ? [thinkIds.think, ...ids] : ids;
      const text = tok ? runTextFields(tok, parseIds) : { text: null, reasoning: null, tool_calls: [] };
      return {
        ids,
        text: text.text,
        reasoning: text.reasoning,
        tool_calls: text.tool_calls,
        finish_reason: s.finishReason,
        usage: s.usage,
        ...(sampling.logprobs !== undefined
          ? {
            logprobs: s.tokens.map((t) => ({ token: t.token, logprob: t.logprob, top_logprobs: t.topLogprobs ?? [] })),
          }
          : {}),
      };
    };
    const rendered = samples.map(render);
    if (values.json) {
      return JSON.stringify({
        prompt_ids: promptIds,
        ...rendered[0],
        spec: samples[0].usage.spec ?? null,
        ...(n > 1 ? { samples: rendered } : {}),
      });
    }
    return rendered.map((r) => (r.text ?? r.ids.join(",")) + `\n[finish_reason: ${r.finish_reason}]`).join("\n---\n");
  } finally {
    group?.shutdown();
    loaded.dispose();
  }
}
