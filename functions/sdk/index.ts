// The function SDK: what user functions import.
export { defineFunction, gust, isFunctionDefinition } from "./define-function.ts";
export type { FunctionDefinition, FunctionLimits, FunctionVisionOptions } from "./define-function.ts";
export type {
  ChatInput,
  ChatResult,
  ChatStreamEvent,
  ChatToolCall,
  FunctionBindings,
  FunctionEnv,
  FunctionModel,
  ReasoningSetting,
} from "./types.ts";
