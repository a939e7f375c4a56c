/** POST /v1/chat/completions, OpenAI's dialect. The gateway mounts it behind the model-route middleware (model,
 * concurrency, deadline, reasoning, vision); this handler validates, encodes, generates and answers. */
import type { Handler } from "hono";
import { jsonBody } from "../../edge/body.ts";
import type { GatewayEnv } from "../../edge/env.ts";
import { openAIFormat } from "./chat/openai-format.ts";
import { openAIParams } from "./chat/openai-schema.ts";
import type { ChatLimits } from "./chat/prepare.ts";
import { prepareChat } from "./chat/prepare.ts";
import type { RespondOptions } from "./chat/respond.ts";
import { respondChat } from "./chat/respond.ts";

export const OPENAI_CHAT_PATH = "/v1/chat/completions";

export interface ChatRouteOptions {
  limits: ChatLimits;
  respond: Omit<RespondOptions, "route">;
}

export function openAIChat(opts: ChatRouteOptions): Handler<GatewayEnv> {
  return async (c) => {
    c.set("routeLabel", OPENAI_CHAT_PATH);
    const params = openAIParams(await jsonBody(c));
    const plan = prepareChat(c, params, "openai", opts.limits);
    return respondChat(c, plan, openAIFormat, { ...opts.respond, route: OPENAI_CHAT_PATH });
  };
}
