/** POST /mistral/v1/chat/completions, Mistral's dialect (point @mistralai/mistralai's serverURL at `<gateway>/mistral`):
 * `random_seed`, `safe_prompt`, `prompt_mode`, thinking chunks, 9-character tool-call ids checked on input. */
import type { Handler } from "hono";
import type { GatewayEnv } from "../http/env.ts";
import { mistralFormat } from "./chat/mistral-format.ts";
import { mistralParams } from "./chat/mistral-schema.ts";
import { chatRoute, type ChatRouteOptions } from "./chat/route.ts";

export const MISTRAL_CHAT_PATH = "/mistral/v1/chat/completions";

export function mistralChat(opts: ChatRouteOptions): Handler<GatewayEnv> {
  return chatRoute({ path: MISTRAL_CHAT_PATH, dialect: "mistral", params: mistralParams, format: mistralFormat }, opts);
}
