// Per-request sampling options and their validation. Validation happens once, when a request is accepted,
// so the sampler's hot loop never re-checks anything; every error names the wire field (OpenAI/vLLM
// spelling, which is what a client typed), the value it got and what is allowed.
import type { SamplingParams } from "../wire/types.ts";

export type { SamplingParams };

/** Validated params with every default filled in. Assignable back to `SamplingParams` (validation is idempotent). */
export interface ResolvedSamplingParams {
  readonly temperature: number;
  /** 0 = off (also when the request's k covers the whole vocabulary). */
  readonly topK: number;
  readonly topP: number;
  readonly minP: number;
  readonly presencePenalty: number;
  readonly frequencyPenalty: number;
  readonly repetitionPenalty: number;
  /** Frozen; zero biases dropped. */
  readonly logitBias: Readonly<Record<number, number>>;
  readonly seed: number | undefined;
  /** null: no log-probabilities; 0: the chosen token's only; k: plus the top k. */
  readonly logprobs: number | null;
  readonly maxTokens: number | undefined;
  readonly stopTokenIds: readonly number[];
}

/** vLLM's defaults: plain sampling at temperature 1 with every filter and penalty off. */
export const DEFAULT_SAMPLING_PARAMS: ResolvedSamplingParams = Object.freeze({
  temperature: 1,
  topK: 0,
  topP: 1,
  minP: 0,
  presencePenalty: 0,
  frequencyPenalty: 0,
  repetitionPenalty: 1,
  logitBias: Object.freeze({}),
  seed: undefined,
  logprobs: null,
  maxTokens: undefined,
  stopTokenIds: Object.freeze([]),
});

export const MAX_LOGPROBS = 20;

export class SamplingParamsError extends Error {
  /** The wire name of the offending field, e.g. "top_p". */
  readonly field: string;
  constructor(field: string, message: string) {
    super(message);
    this.name = "SamplingParamsError";
    this.field = field;
  }
}

function show(v: unknown): string {
  if (typeof v === "number") return String(v); // JSON.stringify would print NaN/Infinity as null
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

function fail(field: string, allowed: string, got: unknown): never {
  throw new SamplingParamsError(field, `${field} must be ${allowed}, got ${show(got)}`);
}

/** A finite number or the default when absent; `ok` states the range check, `allowed` describes it. */
function num(field: string, v: unknown, def: number, ok: (x: number) => boolean, allowed: string): number {
  if (v === undefined || v === null) return def;
  if (typeof v !== "number" || !Number.isFinite(v) || !ok(v)) fail(field, allowed, v);
  return v;
}

function tokenId(field: string, v: unknown, vocabSize: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v >= vocabSize) {
    fail(field, `a token id (integer in [0, ${vocabSize}))`, v);
  }
  return v;
}

/** Checks every field and fills defaults; throws `SamplingParamsError` naming the first bad field. */
export function validateSamplingParams(p: SamplingParams, vocabSize: number): ResolvedSamplingParams {
  if (!(Number.isInteger(vocabSize) && vocabSize > 0)) {
    throw new RangeError(`vocabSize must be a positive integer, got ${vocabSize}`);
  }
  if (p === null || typeof p !== "object") {
    throw new SamplingParamsError("sampling", `sampling parameters must be an object, got ${show(p)}`);
  }

  const temperature = num("temperature", p.temperature, 1, (x) => x >= 0, "a number ≥ 0 (0 = greedy)");
  let topK = num("top_k", p.topK, 0, (x) => Number.isInteger(x) && x >= -1, "-1 or 0 (off) or an integer ≥ 1");
  if (topK === -1 || topK >= vocabSize) topK = 0; // keeping every token is the same as no top-k
  const topP = num("top_p", p.topP, 1, (x) => x > 0 && x <= 1, "in (0, 1]");
  const minP = num("min_p", p.minP, 0, (x) => x >= 0 && x <= 1, "in [0, 1]");
  const presencePenalty = num("presence_penalty", p.presencePenalty, 0, (x) => x >= -2 && x <= 2, "in [-2, 2]");
  const frequencyPenalty = num("frequency_penalty", p.frequencyPenalty, 0, (x) => x >= -2 && x <= 2, "in [-2, 2]");
  const repetitionPenalty = num("repetition_penalty", p.repetitionPenalty, 1, (x) => x > 0, "a number > 0 (1 = off)");
  const seedRaw = p.seed ?? undefined;
  if (seedRaw !== undefined && !(typeof seedRaw === "number" && Number.isSafeInteger(seedRaw))) {
    fail("seed", "an integer in [-(2^53 - 1), 2^53 - 1]", seedRaw);
  }
  const logprobs = p.logprobs === undefined || p.logprobs === null
    ? null
    : num("logprobs", p.logprobs, 0, (x) =>
      Number.isInteger(x) && x >= 0 && x <= MAX_LOGPROBS, `an integer in [0, ${MAX_LOGPROBS}]`);
  const maxTokensRaw = p.maxTokens ?? undefined;
  if (
    maxTokensRaw !== undefined &&
    !(typeof maxTokensRaw === "number" && Number.isSafeInteger(maxTokensRaw) && maxTokensRaw >= 1)
  ) {
    fail("max_tokens", "an integer ≥ 1", maxTokensRaw);
  }

  return Object.freeze({
    temperature,
    topK,
    topP,
    minP,
    presencePenalty,
    frequencyPenalty,
    repetitionPenalty,
    logitBias: validateLogitBias(p.logitBias, vocabSize),
    seed: seedRaw,
    logprobs,
    maxTokens: maxTokensRaw,
    stopTokenIds: validateStopIds(p.stopTokenIds, vocabSize),
  });
}

function validateLogitBias(bias: unknown, vocabSize: number): Readonly<Record<number, number>> {
  if (bias === undefined || bias === null) return DEFAULT_SAMPLING_PARAMS.logitBias;
  if (typeof bias !== "object" || Array.isArray(bias)) {
    fail("logit_bias", "an object mapping token ids to numbers", bias);
  }
  const out: Record<number, number> = {};
  for (const [key, value] of Object.entries(bias)) {
    // Object keys are strings; accept only the canonical decimal spelling of an id ("7", not "07" or "7.0").
    const id = /^(0|[1-9]\d*)$/.test(key) ? Number(key) : NaN;
    if (!(Number.isSafeInteger(id) && id < vocabSize)) {
      throw new SamplingParamsError(
        "logit_bias",
        `logit_bias keys must be token ids (integers in [0, ${vocabSize})), got ${show(key)}`,
      );
    }
    if (typeof value !== "number" || !Number.isFinite(value) || value < -100 || value > 100) {
      fail(`logit_bias[${id}]`, "in [-100, 100]", value);
    }
    if (value !== 0) out[id] = value;
  }
  return Object.freeze(out);
}

function validateStopIds(ids: unknown, vocabSize: number): readonly number[] {
  if (ids === undefined || ids === null) return DEFAULT_SAMPLING_PARAMS.stopTokenIds;
  if (!Array.isArray(ids)) fail("stop_token_ids", "an array of token ids", ids);
  return Object.freeze(ids.map((id, i) => tokenId(`stop_token_ids[${i}]`, id, vocabSize)));
}
