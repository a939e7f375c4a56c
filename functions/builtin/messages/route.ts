/** Anthropic's Messages API as a thin adapter on the chat core: POST /v1/messages (`?beta=true` too, as Claude Code
 * sends it) and POST /v1/messages/count_tokens. request.ts turns the body into ChatParams and a reasoning request,
 * the core plans and runs it, format.ts writes the message or its event stream. Errors on these paths (the
 * middleware's too) leave in Anthropic's shape: see `messagesErrors` in app.ts. */
import type { Handler } from "hono";
import { jsonBody } from "../../http/body.ts";
import type { GatewayEnv } from "../../http/env.ts";
import { bodyInMemory } from "../../http/lifecycle.ts";
import { countPromptTokens, planChat, type PlanInput } from "../../chat/plan.ts";
import { type ReasoningOptions, resolveReasoning } from "../../middleware/reasoning.ts";
import type { ChatRouteOptions } from "../chat/route.ts";
import { respondChat } from "../chat/respond.ts";
import { inDialect } from "../dialect-fields.ts";
import { messagesFormat, newToolUseId } from "./format.ts";
import { type MessagesRequest, messagesRequest } from "./request.ts";

export const MESSAGES_PATH = "/v1/messages";
export const COUNT_TOKENS_PATH = "/v1/messages/count_tokens";

export interface MessagesRouteOptions extends ChatRouteOptions {
  /** The gateway's reasoning defaults and caps, applied to what `thinking` asks for. */
  reasoning: Omit<ReasoningOptions, "mistral" | "readBody">;
}

function planInput(c: Parameters<Handler<GatewayEnv>>[0], req: MessagesRequest, opts: MessagesRouteOptions): PlanInput {
  const { effort, budgetTokens } = resolveReasoning(req.reasoningBody, opts.reasoning);
  return {
    info: c.get("binding").info,
    params: req.params,
    dialect: "openai",
    limits: opts.limits,
    reasoning: { effort, budgetTokens },
    vision: c.get("vision"),
    noVisionHint: "this route has no vision middleware to prepare images",
  };
}

/** `fn` on the request, with the core's errors renamed to the Messages fields. */
function inMessages<T>(req: MessagesRequest, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw inDialect(e, req.paths, "messages");
  }
}

export function messagesRoute(opts: MessagesRouteOptions): Handler<GatewayEnv> {
  return async (c) => {
    c.set("routeLabel", MESSAGES_PATH);
    const req = messagesRequest(await jsonBody(c), false);
    const planned = inMessages(req, () => planChat(planInput(c, req, opts)));
    return respondChat(c, planned, messagesFormat(), {
      ...opts.respond,
      route: MESSAGES_PATH,
      newToolCallId: newToolUseId,
      warnings: req.warnings,
    });
  };
}

export function countTokensRoute(opts: MessagesRouteOptions): Handler<GatewayEnv> {
  return async (c) => {
    c.set("routeLabel", COUNT_TOKENS_PATH);
    // counted past the context too, as Anthropic counts: the client decides (compaction) from the number
    const req = messagesRequest(await jsonBody(c), true);
    const inputTokens = inMessages(req, () => countPromptTokens(planInput(c, req, opts)));
    return bodyInMemory(c.json({ input_tokens: inputTokens }));
  };
}
