/** POST /v1/chat/completions, OpenAI's dialect. The gateway mounts it behind the model-route middleware (model,
 * concurrency, deadline, reasoning, vision); the chat core does the rest. */
import type { Handler } from "hono";
import type { GatewayEnv } from "../http/env.ts";
import { openAIFormat } from "./chat/openai-format.ts";
import { openAIParams } from "./chat/openai-schema.ts";
import { chatRoute, type ChatRouteOptions } from "./chat/route.ts";

export type { ChatRouteOptions };

export const OPENAI_CHAT_PATH = "/v1/chat/completions";

export function openAIChat(opts: ChatRouteOptions): Handler<GatewayEnv> {
  return chatRoute({ path: OPENAI_CHAT_PATH, dialect: "openai", params: openAIParams, format: openAIFormat }, opts);
}
