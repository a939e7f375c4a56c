/** The dialect-neutral chat request the generation code works from; each dialect's schema file produces one. */
import type { GenerateOptions } from "../sdk/binding.ts";
import type { InputMessage, InputTool } from "../../runtime/text/chat/types.ts";

export interface ChatParams {
  model: string | null;
  messages: InputMessage[];
  tools: InputTool[] | null;
  /** "required" (OpenAI; Mistral "any"/"required") and a named function hold the answer to tool calls. */
  toolChoice: "auto" | "none" | "required" | { name: string };
  /** false: at most one call (only with "required" or a named function). */
  parallelToolCalls: boolean;
  /** Requested max tokens and the field it came from (for error messages); null = not given. */
  maxTokens: { value: number; field: string } | null;
  temperature?: number;
  topP?: number;
  topK?: number;
  minP?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  repetitionPenalty?: number;
  logitBias?: Record<number, number>;
  seed?: number;
  stop: string[];
  stopTokenIds: number[];
  n: number;
  logprobs: boolean;
  topLogprobs: number;
  stream: boolean;
  includeUsage: boolean;
  /** false: reasoning is generated (per c.var.reasoning) but not sent (OpenAI dialect `include_reasoning`). */
  includeReasoning: boolean;
  ignoreEos: boolean;
  continueFinal: boolean;
  priority?: number;
  /** Mistral `safe_prompt`: the guardrail system prompt goes first. */
  safePrompt: boolean;
  /** JSON mode or a JSON Schema the answer is held to (the runtime masks every other token); null = free text. */
  responseFormat: NonNullable<GenerateOptions["responseFormat"]> | null;
}

/** The system prompt Mistral's API prepends for `safe_prompt: true`, word for word from docs.mistral.ai
 * ("Guardrailing"). */
export const MISTRAL_SAFE_PROMPT =
  "Always assist with care, respect, and truth. Respond with utmost utility yet securely. Avoid harmful, unethical, prejudiced, or negative content. Ensure replies promote fairness and positivity.";

export function stopList(stop: string | string[] | null | undefined): string[] {
  return stop === null || stop === undefined ? [] : typeof stop === "string" ? [stop] : stop;
}
