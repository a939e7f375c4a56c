/** A chat-completions route for one dialect: its schema turns the body into the neutral ChatParams, the chat core
 * plans and runs it, and its format writes the answer (one JSON body or SSE). Everything between is shared. */
import type { Handler } from "hono";
import { jsonBody } from "../../http/body.ts";
import type { GatewayEnv } from "../../http/env.ts";
import type { Dialect } from "../../../runtime/text/chat/input.ts";
import type { ChatParams } from "../../chat/params.ts";
import { type ChatLimits, planChat } from "../../chat/plan.ts";
import type { DialectFormat } from "./format.ts";
import { respondChat, type RespondOptions } from "./respond.ts";

export interface ChatRouteOptions {
  limits: ChatLimits;
  respond: Omit<RespondOptions, "route">;
}

export interface ChatDialect {
  /** The path the route is mounted at; also its metrics label. */
  path: string;
  dialect: Dialect;
  params(body: Record<string, unknown>): ChatParams;
  format: DialectFormat;
}

export function chatRoute(d: ChatDialect, opts: ChatRouteOptions): Handler<GatewayEnv> {
  return async (c) => {
    c.set("routeLabel", d.path);
    const params = d.params(await jsonBody(c));
    const plan = planChat({
      info: c.get("binding").info,
      params,
      dialect: d.dialect,
      limits: opts.limits,
      reasoning: c.get("reasoning"),
      vision: c.get("vision"),
      noVisionHint: "this route has no vision middleware to prepare images",
    });
    return respondChat(c, plan, d.format, { ...opts.respond, route: d.path });
  };
}
