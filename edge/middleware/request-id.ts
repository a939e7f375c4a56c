/** Request id: reuse a sane incoming `x-request-id` (so a proxy's id follows the request through logs), else make
 * one; either way it is `c.var.requestId` and echoed in the response's `x-request-id`. */
import type { MiddlewareHandler } from "hono";
import type { GatewayEnv } from "../../functions/http/env.ts";
import { setResponseHeader } from "../headers.ts";

/** Ids we accept from clients: short and header-safe, so they cannot inject into logs or headers. */
const ACCEPTED = /^[A-Za-z0-9._:\-]{1,128}$/;

export interface RequestIdOptions {
  header?: string;
  generate?: () => string;
}

export function requestId(opts: RequestIdOptions = {}): MiddlewareHandler<GatewayEnv> {
  const header = opts.header ?? "x-request-id";
  const generate = opts.generate ?? (() => crypto.randomUUID());
  return async (c, next) => {
    const incoming = c.req.header(header);
    const id = incoming && ACCEPTED.test(incoming) ? incoming : generate();
    c.set("requestId", id);
    await next();
    setResponseHeader(c, header, id);
  };
}
