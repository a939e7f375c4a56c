/** OpenAI chat completion request: valibot schema and its conversion to ChatParams. */
import * as v from "valibot";
import { HttpError } from "../../../edge/errors.ts";
import { SchemaError, compileSchema } from "../../../runtime/text/grammar/schema-grammar.ts";
import type { InputMessage, InputTool } from "../../../runtime/text/chat/types.ts";
import type { ChatParams } from "./params.ts";
import { stopList } from "./params.ts";
import { commonFields, int, opt, range, commonSampling } from "./schema-parts.ts";

const toolChoiceSchema = opt(
  v.union(
    [
      v.picklist(["auto", "none", "required"], (i) => `unknown tool_choice ${i.received}; allowed: "auto", "none", "required" or a named function`),
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
  logit_bias: opt(v.record(v.pipe(v.string(), v.regex(/^(0|[1-9]\d*)$/, (i) => `keys must be token ids, got ${i.received}`)), range(-100, 100, "in [-100, 100]"))),
  tool_choice: toolChoiceSchema,
  stream_options: opt(v.looseObject({ include_usage: opt(v.boolean((i) => `must be true or false, got ${i.received}`)) })),
  include_reasoning: opt(v.boolean((i) => `must be true or false, got ${i.received}`)),
});

export type OpenAIChatRequest = v.InferOutput<typeof openAIChatSchema>;

/** parallel_tool_calls: false is held (one call) only where calls are required; with "auto" gust cannot stop a
 * second call without also forcing the first. */
export function checkParallel(parallel: boolean | null | undefined, toolChoice: ChatParams["toolChoice"]): boolean {
  if (parallel !== false) return true;
  if (toolChoice === "auto" || toolChoice === "none")
    throw new HttpError(400, "unsupported_value", 'parallel_tool_calls: false is supported with tool_choice "required" or a named function (the answer is then exactly one call); with "auto", leave it out or send true', "parallel_tool_calls");
  return false;
}

/** The response format of both dialects: text (null), JSON mode, or a JSON Schema checked here so that a schema
 * gust cannot honour is a 400 naming the schema path before anything reaches the runtime. */
export function responseFormatOf(rf: { type: string } | null | undefined): ChatParams["responseFormat"] {
  if (!rf || rf.type === "text") return null;
  if (rf.type === "json_object") return { type: "json_object" };
  if (rf.type !== "json_schema")
    throw new HttpError(400, "invalid_value", `response_format.type: ${JSON.stringify(rf.type)} is not a response format; allowed: "text", "json_object", "json_schema"`, "response_format.type");
  const js = (rf as { json_schema?: unknown }).json_schema;
  if (js === null || typeof js !== "object" || Array.isArray(js))
    throw new HttpError(400, "invalid_value", 'response_format.json_schema: must be an object like {"name": "...", "schema": {...}}', "response_format.json_schema");
  const schema = (js as { schema?: unknown }).schema;
  if (schema === undefined) throw new HttpError(400, "invalid_value", "response_format.json_schema.schema: is required (the JSON Schema the answer must follow)", "response_format.json_schema.schema");
  try {
    compileSchema(schema);
  } catch (e) {
    if (e instanceof SchemaError) throw new HttpError(400, "invalid_value", `response_format.json_schema.schema: ${e.message}`, "response_format.json_schema.schema");
    throw e;
  }
  return { type: "json_schema", schema };
}

export function openAIParams(body: unknown): ChatParams {
  const r = v.parse(openAIChatSchema, body);
  const raw = r.tool_choice ?? "auto";
  const tc: ChatParams["toolChoice"] = typeof raw === "string" ? raw : { name: raw.function.name };
  const responseFormat = responseFormatOf(r.response_format);
  const parallelToolCalls = checkParallel(r.parallel_tool_calls, tc);
  if (r.top_logprobs && !r.logprobs) throw new HttpError(400, "invalid_value", "top_logprobs: needs logprobs: true", "top_logprobs");
  const maxTokens =
    r.max_completion_tokens != null ? { value: r.max_completion_tokens, field: "max_completion_tokens" } : r.max_tokens != null ? { value: r.max_tokens, field: "max_tokens" } : null;
  return {
    model: r.model ?? null,
    messages: r.messages as unknown as InputMessage[],
    tools: (r.tools ?? null) as InputTool[] | null,
    toolChoice: tc,
    parallelToolCalls,
    maxTokens,
    ...commonSampling(r),
    logitBias: r.logit_bias ? Object.fromEntries(Object.entries(r.logit_bias).map(([k, b]) => [Number(k), b])) : undefined,
    seed: r.seed ?? undefined,
    stop: stopList(r.stop),
    stopTokenIds: r.stop_token_ids ?? [],
    n: r.n ?? 1,
    logprobs: r.logprobs === true,
    topLogprobs: r.top_logprobs ?? 0,
    stream: r.stream === true,
    includeUsage: r.stream_options?.include_usage === true,
    includeReasoning: r.include_reasoning !== false,
    ignoreEos: r.ignore_eos === true,
    continueFinal: r.continue_final_message === true,
    priority: r.priority ?? undefined,
    safePrompt: false,
    responseFormat,
  };
}
