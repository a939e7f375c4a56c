/** Mistral chat completion request (La Plateforme's schema, as @mistralai/mistralai sends it): valibot schema and
 * its conversion to ChatParams. `reasoning_effort` and `prompt_mode` are read by the reasoning middleware. */
import * as v from "valibot";
import { HttpError } from "../../http/errors.ts";
import { constraintFields } from "../../chat/constraints.ts";
import type { ChatParams } from "../../chat/params.ts";
import { commonFields, commonParams, int, opt } from "./schema-parts.ts";

const bool = (i: v.BaseIssue<unknown>) => `must be true or false, got ${i.received}`;

export const mistralChatSchema = v.looseObject({
  ...commonFields,
  random_seed: opt(int(0, Number.MAX_SAFE_INTEGER, "an integer ≥ 0")),
  tool_choice: opt(
    v.union(
      [
        v.picklist(
          ["auto", "none", "any", "required"],
          (i) => `unknown tool_choice ${i.received}; allowed: "auto", "none", "any", "required" or a named function`,
        ),
        v.looseObject({ type: v.optional(v.literal("function")), function: v.looseObject({ name: v.string() }) }),
      ],
      (i) =>
        `must be "auto", "none", "any", "required" or {"type": "function", "function": {"name": ...}}, got ${i.received}`,
    ),
  ),
  safe_prompt: opt(v.boolean(bool)),
  // accepted and not used: a prediction only speeds decoding up, the answer is the same without it
  prediction: opt(v.looseObject({ type: v.optional(v.string()), content: v.optional(v.string()) })),
  guardrails: opt(v.array(v.unknown())),
});

export type MistralChatRequest = v.InferOutput<typeof mistralChatSchema>;

export function mistralParams(body: unknown): ChatParams {
  const r = v.parse(mistralChatSchema, body);
  const { toolChoice, parallelToolCalls, responseFormat } = constraintFields(r);
  if (r.guardrails && r.guardrails.length > 0) {
    throw new HttpError(
      400,
      "unsupported_value",
      "guardrails: moderation guardrails are not available on this server; leave the field out (safe_prompt is supported)",
      "guardrails",
    );
  }
  return {
    ...commonParams(r),
    toolChoice,
    parallelToolCalls,
    maxTokens: r.max_tokens != null ? { value: r.max_tokens, field: "max_tokens" } : null,
    seed: r.random_seed ?? undefined,
    logprobs: false,
    topLogprobs: 0,
    includeUsage: true,
    includeReasoning: true,
    safePrompt: r.safe_prompt === true,
    responseFormat,
  };
}
