/** OpenAI chat completion request: valibot schema and its conversion to ChatParams. */
import * as v from "valibot";
import { HttpError } from "../../http/errors.ts";
import { constraintFields } from "../../chat/constraints.ts";
import type { ChatParams } from "../../chat/params.ts";
import { commonFields, commonParams, int, opt, range } from "./schema-parts.ts";

const toolChoiceSchema = opt(
  v.union(
    [
      v.picklist(
        ["auto", "none", "required"],
        (i) => `unknown tool_choice ${i.received}; allowed: "auto", "none", "required" or a named function`,
      ),
      v.looseObject({ type: v.literal("function"), function: v.looseObject({ name: v.string() }) }),
    ],
    (i) => `must be "auto", "none", "required" or {"type": "function", "function": {"name": ...}}, got ${i.received}`,
  ),
);

export const openAIChatSchema = v.looseObject({
  ...commonFields,
  max_completion_tokens: opt(int(1, Number.MAX_SAFE_INTEGER, "an integer ≥ 1")),
  seed: opt(int(-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, "an integer")),
  logprobs: opt(v.boolean((i) => `must be true or false, got ${i.received}`)),
  top_logprobs: opt(int(0, 20, "an integer in [0, 20]")),
  logit_bias: opt(
    v.record(
      v.pipe(
        v.string(),
        v.regex(/^(0|[1-9]\d*)$/, (i) => `keys must be token ids, got ${i.received}`),
      ),
      range(-100, 100, "in [-100, 100]"),
    ),
  ),
  tool_choice: toolChoiceSchema,
  stream_options: opt(
    v.looseObject({ include_usage: opt(v.boolean((i) => `must be true or false, got ${i.received}`)) }),
  ),
  include_reasoning: opt(v.boolean((i) => `must be true or false, got ${i.received}`)),
});

export type OpenAIChatRequest = v.InferOutput<typeof openAIChatSchema>;

export function openAIParams(body: unknown): ChatParams {
  const r = v.parse(openAIChatSchema, body);
  const { toolChoice, parallelToolCalls, responseFormat } = constraintFields(r);
  if (r.top_logprobs && !r.logprobs) {
    throw new HttpError(400, "invalid_value", "top_logprobs: needs logprobs: true", "top_logprobs");
  }
  const maxTokens = r.max_completion_tokens != null
    ? { value: r.max_completion_tokens, field: "max_completion_tokens" }
    : r.max_tokens != null
    ? { value: r.max_tokens, field: "max_tokens" }
    : null;
  return {
    ...commonParams(r),
    toolChoice,
    parallelToolCalls,
    maxTokens,
    logitBias: r.logit_bias
      ? Object.fromEntries(Object.entries(r.logit_bias).map(([k, b]) => [Number(k), b]))
      : undefined,
    seed: r.seed ?? undefined,
    logprobs: r.logprobs === true,
    topLogprobs: r.top_logprobs ?? 0,
    includeUsage: r.stream_options?.include_usage === true,
    includeReasoning: r.include_reasoning !== false,
    safePrompt: false,
    responseFormat,
  };
}
