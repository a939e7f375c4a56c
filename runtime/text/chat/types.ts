/** Request shapes the chat encoder accepts (OpenAI-style and Mistral's), and the internal message model. */

// ---------------------------------------------------------------- input (as sent by clients)

export type InputChunk =
  | { type: "text"; text: string }
  | { type: "image_url"; image_url: string | { url: string; detail?: string } }
  | { type: "image"; image: string }
  | { type: "thinking"; thinking: string | Array<{ type: "text"; text: string }>; closed?: boolean }
  /** Already-resolved image (the gateway decoded it): only the size matters for the token layout. */
  | { type: "image_size"; width: number; height: number };

export interface InputToolCall {
  id?: string;
  type?: "function";
  function: { name: string; arguments?: string | Record<string, unknown> | null };
}

export interface InputMessage {
  role: "system" | "user" | "assistant" | "tool" | "developer";
  content?: string | InputChunk[] | null;
  tool_calls?: InputToolCall[] | null;
  tool_call_id?: string | null;
  name?: string | null;
  /** Mistral dialect: the last assistant message is a prefix the model continues. */
  prefix?: boolean;
  /** OpenAI-compatible servers' names for prior reasoning; becomes a leading thinking chunk. */
  reasoning_content?: string | null;
  reasoning?: string | null;
}

export interface InputTool {
  type?: "function";
  function: {
    name: string;
    description?: string | null;
    parameters?: Record<string, unknown> | null;
    strict?: boolean;
  };
}

export interface ChatRequest {
  messages: InputMessage[];
  tools?: InputTool[] | null;
  reasoning_effort?: string | null;
  /** vLLM/mistral-common: continue the final assistant message instead of closing it. */
  continue_final_message?: boolean;
}

// ---------------------------------------------------------------- internal (after shape checks)

export interface ImageRef {
  /** Where the image came from: a URL (data:, http:, file:), raw base64, or null for a pre-sized image. */
  source: string | null;
  width: number;
  height: number;
}

export type Chunk =
  | { type: "text"; text: string }
  | { type: "image"; image: ImageRef }
  | { type: "thinking"; thinking: string; closed: boolean };

export type Content = string | Chunk[];

export interface ToolCall {
  id: string;
  name: string;
  /** The arguments as the client sent them (a JSON string; objects are serialised with Python's json.dumps). */
  arguments: string;
}

export type Message =
  | { role: "system"; content: Content; index: number }
  | { role: "user"; content: Content; index: number }
  | { role: "assistant"; content: Content | null; toolCalls: ToolCall[] | null; prefix: boolean; index: number }
  | { role: "tool"; content: Content; toolCallId: string; name: string | null; index: number };

export interface Tool {
  name: string;
  description: string;
  parameters: unknown;
}
