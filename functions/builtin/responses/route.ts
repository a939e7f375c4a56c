/** POST /v1/responses, OpenAI's Responses API, as a thin adapter on the chat core: request.ts turns the body into
 * ChatParams, the core plans and runs it, format.ts writes the `response` object or its event stream. With
 * `store` (the API's default) a finished response's conversation is kept in a bounded in-memory store, so a later
 * request can continue it with `previous_response_id`. */
import type { Handler } from "hono";
import { jsonBody } from "../../http/body.ts";
import type { GatewayEnv } from "../../http/env.ts";
import { planChat } from "../../chat/plan.ts";
import type { ChatRouteOptions } from "../chat/route.ts";
import { respondChat } from "../chat/respond.ts";
import { bad, inDialect } from "../dialect-fields.ts";
import { newCallId, responsesFormat } from "./format.ts";
import { responsesRequest } from "./request.ts";
import type { ResponseStore } from "./store.ts";

export const RESPONSES_PATH = "/v1/responses";

export function responsesRoute(opts: ChatRouteOptions & { store: ResponseStore | null }): Handler<GatewayEnv> {
  return async (c) => {
    c.set("routeLabel", RESPONSES_PATH);
    const body = await jsonBody(c);
    const previous = typeof body.previous_response_id === "string" ? body.previous_response_id : null;
    const prior = previous === null ? [] : opts.store?.get(previous);
    if (prior === undefined) {
      throw bad(
        "previous_response_id",
        `no stored response ${JSON.stringify(previous)} here (the gateway keeps its last responses in memory, ` +
          "none with store: false); send the conversation's items instead",
      );
    }
    const req = responsesRequest(body, prior);
    let plan;
    try {
      plan = planChat({
        info: c.get("binding").info,
        params: req.params,
        dialect: "openai",
        limits: opts.limits,
        reasoning: c.get("reasoning"),
        vision: c.get("vision"),
        noVisionHint: "this route has no vision middleware to prepare images",
      });
    } catch (e) {
      throw inDialect(e, req.paths, "input");
    }
    const store = opts.store;
    const keep = req.store && store
      ? (r: Record<string, unknown>) => store.put(r.id as string, req.params.messages, r)
      : undefined;
    return respondChat(c, plan, responsesFormat(req, keep), {
      ...opts.respond,
      route: RESPONSES_PATH,
      newToolCallId: newCallId,
      warnings: req.warnings,
    });
  };
}
