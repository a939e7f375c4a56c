/** What constrains an answer, read the same way for both dialects and the function SDK: the tool choice (Mistral's
 * "any" is OpenAI's "required"), parallel calls, the response format, and the tool-call constraint the runtime
 * holds the answer to. */
import type { GenerateOptions } from "../sdk/binding.ts";
import { HttpError } from "../http/errors.ts";
import type { InputTool } from "../../runtime/text/chat/types.ts";
import { compileSchema, SchemaError } from "../../runtime/grammar/schema-grammar.ts";
import type { ChatParams } from "./params.ts";

/** The dialect fields, as their valibot schemas leave them. */
interface ConstraintFields {
  tool_choice?: string | { function: { name: string } } | null;
  response_format?: { type: string } | null;
  parallel_tool_calls?: boolean | null;
}

export function constraintFields(
  r: ConstraintFields,
): Pick<ChatParams, "toolChoice" | "parallelToolCalls" | "responseFormat"> {
  const raw = r.tool_choice ?? "auto";
  const toolChoice: ChatParams["toolChoice"] = typeof raw === "string"
    ? (raw === "any" ? "required" : (raw as ChatParams["toolChoice"]))
    : { name: raw.function.name };
  return {
    toolChoice,
    parallelToolCalls: checkParallel(r.parallel_tool_calls, toolChoice),
    responseFormat: responseFormatOf(r.response_format),
  };
}

/** parallel_tool_calls: false is held by the runtime (at most one call) under every tool choice. */
function checkParallel(parallel: boolean | null | undefined, _toolChoice: ChatParams["toolChoice"]): boolean {
  return parallel !== false;
}

/** Text (null), JSON mode, or a JSON Schema checked here so that a schema gust cannot honour is a 400 naming the
 * schema path before anything reaches the runtime. */
function responseFormatOf(rf: { type: string } | null | undefined): ChatParams["responseFormat"] {
  if (!rf || rf.type === "text") return null;
  if (rf.type === "json_object") return { type: "json_object" };
  if (rf.type !== "json_schema") {
    throw new HttpError(
      400,
      "invalid_value",
      `response_format.type: ${
        JSON.stringify(rf.type)
      } is not a response format; allowed: "text", "json_object", "json_schema"`,
      "response_format.type",
    );
  }
  const js = (rf as { json_schema?: unknown }).json_schema;
  if (js === null || typeof js !== "object" || Array.isArray(js)) {
    throw new HttpError(
      400,
      "invalid_value",
      'response_format.json_schema: must be an object like {"name": "...", "schema": {...}}',
      "response_format.json_schema",
    );
  }
  const schema = (js as { schema?: unknown }).schema;
  if (schema === undefined) {
    throw new HttpError(
      400,
      "invalid_value",
      "response_format.json_schema.schema: is required (the JSON Schema the answer must follow)",
      "response_format.json_schema.schema",
    );
  }
  try {
    compileSchema(schema);
  } catch (e) {
    if (e instanceof SchemaError) {
      throw new HttpError(
        400,
        "invalid_value",
        `response_format.json_schema.schema: ${e.message}`,
        "response_format.json_schema.schema",
      );
    }
    throw e;
  }
  return { type: "json_schema", schema };
}

/** A tool choice the offered tools cannot satisfy; `field` is the request field to name. */
export class ToolChoiceError extends Error {
  override name = "ToolChoiceError";
  constructor(readonly field: "tool_choice" | "tool_choice.function.name", message: string) {
    super(message);
  }
}

/** Which tools' parameter schemas hold a call's arguments under tool_choice "auto" (`gust serve
 * --tool-call-schemas`): "all" (the default, as llama.cpp's server does) or only those of `strict` tools ("strict",
 * the OpenAI rule). A schema the runtime's grammar compiler refuses falls back to any JSON object, strict or not. */
export type ToolCallSchemas = "all" | "strict";
export const TOOL_CALL_SCHEMAS: readonly ToolCallSchemas[] = ["all", "strict"];

/** The calls the runtime holds the answer to: "required" or a named tool must call; "auto" may answer in text, but
 * a call it begins names an offered tool, with arguments held to the tool's schema (with `schemas` "strict", only
 * where the tool says `strict: true`; the others then get any JSON object). Undefined for "none" and for no tools.
 * Example, auto with a non-strict get_goal whose schema has no properties: under "all" the arguments can only be
 * `{}`; under "strict" they may be any object, such as `{"expression": "..."}`. */
export function toolCallConstraint(
  tools: readonly InputTool[] | null | undefined,
  choice: ChatParams["toolChoice"],
  parallel: boolean,
  schemas: ToolCallSchemas = "all",
): GenerateOptions["toolCalls"] {
  if (choice === "none") return undefined;
  if (choice === "auto") {
    if (!tools || tools.length === 0) return undefined;
    const held = tools.map(({ function: f }) =>
      f.parameters && (schemas === "all" || f.strict === true)
        ? { name: f.name, parameters: f.parameters }
        : { name: f.name }
    );
    return { tools: held, parallel, optional: true };
  }
  const offered = (tools ?? []).map((t) => ({ name: t.function.name, parameters: t.function.parameters ?? undefined }));
  if (offered.length === 0) {
    throw new ToolChoiceError(
      "tool_choice",
      `${choice === "required" ? '"required"' : "a named function"} needs tools, and none are offered`,
    );
  }
  if (choice === "required") return { tools: offered, parallel };
  const named = offered.find((t) => t.name === choice.name);
  if (!named) {
    throw new ToolChoiceError(
      "tool_choice.function.name",
      `${JSON.stringify(choice.name)}, which is not among the tools (${offered.map((t) => t.name).join(", ")})`,
    );
  }
  return { tools: [named], parallel: false };
}
