// The chat request body the page sends, from the conversation and the settings panel. Settings the person left
// empty are left out, so the gateway's own defaults apply. Bad JSON in an editor is an error naming the editor.
export type Part = { type: "text"; text: string } | { type: "image_url"; image_url: { url: string } };

export type Message =
  | { role: "user"; content: string | Part[] }
  | { role: "assistant"; content: string | null; tool_calls?: WireToolCall[] }
  | { role: "tool"; tool_call_id: string; content: string };

export interface WireToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

/** The settings panel's fields as typed (strings; "" = not set). */
export interface Settings {
  model: string;
  effort: string;
  budget: string;
  temperature: string;
  maxTokens: string;
  tools: string;
  format: string;
  schema: string;
}

export class SettingsError extends Error {}

function number(text: string, field: string, integer: boolean): number | undefined {
  if (text.trim() === "") return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < 0) {
    throw new SettingsError(`${field}: ${integer ? "a whole number" : "a number"} of 0 or more, got "${text}"`);
  }
  return n;
}

function json(text: string, field: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new SettingsError(`${field}: not valid JSON (${(e as Error).message})`);
  }
}

export function chatBody(s: Settings, messages: Message[]): Record<string, unknown> {
  const body: Record<string, unknown> = {
    model: s.model,
    messages,
    stream: true,
    stream_options: { include_usage: true },
  };
  if (s.effort) body.reasoning_effort = s.effort;
  const budget = number(s.budget, "Reasoning budget", true);
  if (budget !== undefined) body.reasoning = { budget_tokens: budget };
  const temperature = number(s.temperature, "Temperature", false);
  if (temperature !== undefined) body.temperature = temperature;
  const maxTokens = number(s.maxTokens, "Max tokens", true);
  if (maxTokens !== undefined) body.max_tokens = maxTokens;
  if (s.tools.trim() !== "") {
    const tools = json(s.tools, "Tool definitions");
    if (!Array.isArray(tools)) throw new SettingsError("Tool definitions: a JSON array of tools, [] or empty for none");
    if (tools.length > 0) body.tools = tools;
  }
  if (s.format === "json_object") body.response_format = { type: "json_object" };
  if (s.format === "json_schema") {
    if (s.schema.trim() === "") throw new SettingsError("JSON schema: write a schema for the json_schema format");
    body.response_format = {
      type: "json_schema",
      json_schema: { name: "answer", schema: json(s.schema, "JSON schema") },
    };
  }
  return body;
}

export const EXAMPLE_TOOLS = [{
  type: "function",
  function: {
    name: "get_time",
    description: "Get the local time in a city.",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
}];
