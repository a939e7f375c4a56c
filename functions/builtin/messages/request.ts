/** POST /v1/messages body → the chat core's ChatParams and reasoning. `thinking` maps onto the reasoning budget:
 *   {type: "enabled", budget_tokens: N}  → effort high, a budget of N think tokens
 *   {type: "adaptive"}                   → effort high, the route's budget for "high" (unlimited by default)
 *   {type: "disabled"}                   → effort none
 *   absent                               → the route default
 * Tools are strict unless they say `strict: false` (their arguments held to `input_schema`); server tools (web
 * search, code execution, ...) are dropped with a warning. `metadata`, `service_tier`, `context_management`,
 * `output_config`, `container` and `cache_control` are accepted and have no effect. */
import type { ChatParams } from "../../chat/params.ts";
import {
  bad,
  type Json,
  list,
  neutralDefaults,
  object,
  optBool,
  optInt,
  optNum,
  optStr,
  str,
} from "../dialect-fields.ts";
import { convertMessages } from "./blocks.ts";

export interface MessagesRequest {
  params: ChatParams;
  paths: string[];
  warnings: string[];
  /** A body for the reasoning resolver (edge reasoning middleware's rules): what `thinking` asks for. */
  reasoningBody: Json;
}

function thinkingOf(raw: unknown): Json {
  if (raw === undefined || raw === null) return {};
  const t = object(raw, "thinking");
  if (t.type === "disabled") return { reasoning_effort: "none" };
  if (t.type === "adaptive") return { reasoning_effort: "high" };
  if (t.type === "enabled") {
    if (t.budget_tokens === undefined) throw bad("thinking.budget_tokens", 'is required with {"type": "enabled"}');
    return { reasoning: { budget_tokens: optInt(t.budget_tokens, "thinking.budget_tokens", 1) } };
  }
  throw bad("thinking.type", `${JSON.stringify(t.type)} is not a thinking mode; allowed: enabled, adaptive, disabled`);
}

function toolChoiceOf(raw: unknown): { choice: ChatParams["toolChoice"]; parallel: boolean } {
  if (raw === undefined || raw === null) return { choice: "auto", parallel: true };
  const t = object(raw, "tool_choice");
  const parallel = optBool(t.disable_parallel_tool_use, "tool_choice.disable_parallel_tool_use") !== true;
  if (t.type === "auto" || t.type === "none") return { choice: t.type, parallel };
  if (t.type === "any") return { choice: "required", parallel };
  if (t.type === "tool") return { choice: { name: str(t.name, "tool_choice.name") }, parallel: false };
  throw bad("tool_choice.type", `${JSON.stringify(t.type)} is not a tool choice; allowed: auto, any, tool, none`);
}

function toolsOf(raw: unknown, warnings: string[]): ChatParams["tools"] {
  if (raw === undefined || raw === null) return null;
  const out: NonNullable<ChatParams["tools"]> = [];
  list(raw, "tools").forEach((t, i) => {
    const at = `tools[${i}]`;
    const tool = object(t, at);
    if (tool.type !== undefined && tool.type !== null && tool.type !== "custom") {
      warnings.push(
        `${at}: the ${JSON.stringify(tool.type)} server tool runs on Anthropic's servers, not here; it was left out`,
      );
      return;
    }
    out.push({
      type: "function",
      function: {
        name: str(tool.name, `${at}.name`),
        ...(typeof tool.description === "string" ? { description: tool.description } : {}),
        parameters: object(tool.input_schema, `${at}.input_schema`),
        strict: tool.strict !== false,
      },
    });
  });
  return out.length > 0 ? out : null;
}

/** `countOnly`: /v1/messages/count_tokens, where max_tokens is not sent. */
export function messagesRequest(body: Json, countOnly = false): MessagesRequest {
  const maxTokens = optInt(body.max_tokens, "max_tokens", 1);
  if (maxTokens === undefined && !countOnly) {
    throw bad("max_tokens", "is required: the most tokens to generate (gust clamps it to what the context leaves)");
  }
  const warnings: string[] = [];
  const { messages, paths } = convertMessages(body.system, body.messages);
  const { choice, parallel } = toolChoiceOf(body.tool_choice);
  const stop = body.stop_sequences === undefined || body.stop_sequences === null
    ? []
    : list(body.stop_sequences, "stop_sequences").map((s, i) => {
      const text = str(s, `stop_sequences[${i}]`);
      if (text === "") throw bad(`stop_sequences[${i}]`, "a stop sequence cannot be empty");
      return text;
    });
  if (Array.isArray(body.mcp_servers) && body.mcp_servers.length > 0) {
    warnings.push("mcp_servers: gust does not connect to MCP servers itself; run them in the client");
  }
  const params: ChatParams = {
    ...neutralDefaults(),
    model: optStr(body.model, "model") ?? null,
    messages,
    tools: toolsOf(body.tools, warnings),
    toolChoice: choice,
    parallelToolCalls: parallel,
    maxTokens: maxTokens === undefined ? null : { value: maxTokens, field: "max_tokens" },
    temperature: optNum(body.temperature, "temperature", 0, 1),
    topP: optNum(body.top_p, "top_p", 0, 1, true),
    topK: optInt(body.top_k, "top_k", 1),
    stop,
    stream: optBool(body.stream, "stream") ?? false,
  };
  for (const k of ["temperature", "topP", "topK"] as const) if (params[k] === undefined) delete params[k];
  return { params, paths, warnings, reasoningBody: thinkingOf(body.thinking) };
}
