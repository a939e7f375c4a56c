// The function SDK: what user functions import (`gust/sdk`).
export { defineFunction, gust, isFunctionDefinition } from "./define-function.ts";
export type { FunctionDefinition, FunctionLimits } from "./define-function.ts";
export { reasoning } from "../middleware/reasoning.ts";
export type { ReasoningOptions } from "../middleware/reasoning.ts";
export { vision } from "./vision.ts";
export { HttpError } from "../http/errors.ts";
export type {
  ChatChunk,
  ChatInput,
  ChatMessage,
  ChatResult,
  ChatStreamEvent,
  ChatToolCall,
  FunctionBindings,
  FunctionEnv,
  FunctionModel,
  FunctionVisionOptions,
  ReasoningSetting,
} from "./types.ts";
