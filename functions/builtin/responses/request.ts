/** POST /v1/responses body → the chat core's ChatParams, plus what the answer echoes back. Reasoning
 * (`reasoning.effort`, a top-level `budget_tokens`) is read by the reasoning middleware like on chat completions;
 * `reasoning.summary`, `include`, `prompt_cache_key`, `service_tier`, `truncation` and `user` are accepted and have
 * no effect. Hosted tools are dropped with a warning (see input.ts). */
import { HttpError } from "../../http/errors.ts";
import type { InputMessage } from "../../../runtime/text/chat/types.ts";
import { constraintFields } from "../../chat/constraints.ts";
import type { ChatParams } from "../../chat/params.ts";
import {
  bad,
  isObject,
  type Json,
  neutralDefaults,
  object,
  optBool,
  optInt,
  optNum,
  optStr,
  str,
} from "../dialect-fields.ts";
import { convertInput, convertTools } from "./input.ts";

export interface ResponsesRequest {
  params: ChatParams;
  /** Where each message came from (`input[3]`), for error paths. */
  paths: string[];
  warnings: string[];
  store: boolean;
  previousResponseId: string | null;
  /** Request fields the response object repeats. */
  echo: Json;
}

function toolChoiceOf(raw: unknown): unknown {
  if (raw === undefined || raw === null || typeof raw === "string") return raw;
  const t = object(raw, "tool_choice");
  if (t.type === "function") return { type: "function", function: { name: str(t.name, "tool_choice.name") } };
  throw bad(
    "tool_choice.type",
    `${
      JSON.stringify(t.type)
    } is not a choice gust can hold; allowed: "auto", "none", "required" or {"type": "function", "name": ...}`,
  );
}

function formatOf(text: unknown): { type: string } | null {
  if (text === undefined || text === null) return null;
  const f = object(text, "text").format;
  if (f === undefined || f === null) return null;
  const format = object(f, "text.format");
  if (format.type === "json_schema") return { type: "json_schema", json_schema: { schema: format.schema } } as never;
  return { type: str(format.type, "text.format.type") };
}

/** constraintFields speaks chat completions' field names; say the Responses ones instead. */
function renamed(e: unknown): unknown {
  if (!(e instanceof HttpError)) return e;
  const rename = (s: string) =>
    s.replace(/response_format\.json_schema\.schema/g, "text.format.schema")
      .replace(/response_format\.json_schema/g, "text.format")
      .replace(/response_format/g, "text.format")
      .replace(/tool_choice\.function\.name/g, "tool_choice.name");
  return new HttpError(e.status, e.code, rename(e.message), e.param === null ? null : rename(e.param));
}

export function responsesRequest(body: Json, prior: InputMessage[] = []): ResponsesRequest {
  if (body.input === undefined || body.input === null) {
    throw bad("input", 'is required: a string, or a list of items like {"role": "user", "content": "..."}');
  }
  if (body.background === true) throw bad("background", "background responses are not supported; leave it out");
  if (body.conversation !== undefined && body.conversation !== null) {
    throw bad("conversation", "gust keeps no conversations; send the items, or previous_response_id");
  }
  const warnings: string[] = [];
  const { messages, paths } = convertInput(body.instructions, body.input);
  const tools = convertTools(body.tools, warnings);
  let constraints;
  try {
    constraints = constraintFields({
      tool_choice: toolChoiceOf(body.tool_choice) as never,
      response_format: formatOf(body.text),
      parallel_tool_calls: optBool(body.parallel_tool_calls, "parallel_tool_calls"),
    });
  } catch (e) {
    throw renamed(e);
  }
  const maxOutput = optInt(body.max_output_tokens, "max_output_tokens", 1);
  const stream = optBool(body.stream, "stream") ?? false;
  const store = optBool(body.store, "store") ?? true;
  const metadata = body.metadata === undefined || body.metadata === null ? {} : object(body.metadata, "metadata");
  const params: ChatParams = {
    ...neutralDefaults(),
    model: optStr(body.model, "model") ?? null,
    messages: [...prior, ...messages],
    tools: tools && tools.length > 0 ? tools : null,
    toolChoice: constraints.toolChoice,
    parallelToolCalls: constraints.parallelToolCalls,
    responseFormat: constraints.responseFormat,
    maxTokens: maxOutput === undefined ? null : { value: maxOutput, field: "max_output_tokens" },
    temperature: optNum(body.temperature, "temperature", 0, 2),
    topP: optNum(body.top_p, "top_p", 0, 1, true),
    stream,
  };
  for (const k of ["temperature", "topP"] as const) if (params[k] === undefined) delete params[k];
  const reasoning = isObject(body.reasoning) ? body.reasoning : null;
  return {
    params,
    paths: [...prior.map(() => "previous_response_id"), ...paths],
    warnings,
    store,
    previousResponseId: optStr(body.previous_response_id, "previous_response_id") ?? null,
    echo: {
      instructions: typeof body.instructions === "string" ? body.instructions : null,
      max_output_tokens: maxOutput ?? null,
      metadata,
      parallel_tool_calls: constraints.parallelToolCalls,
      previous_response_id: body.previous_response_id ?? null,
      reasoning: { effort: reasoning?.effort ?? null, summary: reasoning?.summary ?? null },
      store,
      temperature: params.temperature ?? 1,
      text: { format: isObject(body.text) && isObject(body.text.format) ? body.text.format : { type: "text" } },
      tool_choice: body.tool_choice ?? "auto",
      tools: (tools ?? []).map((t) => ({ type: "function", ...t.function })),
      top_p: params.topP ?? 1,
      truncation: "disabled",
      user: body.user ?? null,
    },
  };
}
