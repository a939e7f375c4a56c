/** POST /mistral/v1/chat/completions, Mistral's dialect (point @mistralai/mistralai's serverURL at `<gateway>/mistral`):
 * `random_seed`, `safe_prompt`, `prompt_mode`, thinking chunks, 9-character tool-call ids checked on input. */
import type { Handler } from "hono";
import { jsonBody } from "../../edge/body.ts";
import type { GatewayEnv } from "../../edge/env.ts";
import { mistralFormat } from "./chat/mistral-format.ts";
import { mistralParams } from "./chat/mistral-schema.ts";
import { prepareChat } from "./chat/prepare.ts";
import { respondChat } from "./chat/respond.ts";
import type { ChatRouteOptions } from "./openai-chat.ts";

export const MISTRAL_CHAT_PATH = "/mistral/v1/chat/completions";

export function mistralChat(opts: ChatRouteOptions): Handler<GatewayEnv> {
  return async (c) => {
    c.set("routeLabel", MISTRAL_CHAT_PATH);
    const params = mistralParams(await jsonBody(c));
    const plan = prepareChat(c, params, "mistral", opts.limits);
    return respondChat(c, plan, mistralFormat, { ...opts.respond, route: MISTRAL_CHAT_PATH });
  };
}
