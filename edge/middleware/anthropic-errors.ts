/** Errors on Anthropic's paths in Anthropic's shape: `{"type": "error", "error": {"type": ..., "message": ...}}`.
 * Mounted before auth, it rewrites whatever error body the middleware below it or the route answered with (the
 * gateway's own shape, `{"error": {"message", "type", "param", "code"}}`), so auth's 401, the body limit's 413,
 * the vision middleware's refusals and the route's 400s all reach an Anthropic client as its SDK expects. Streams
 * carry their own error events (functions/builtin/messages/format.ts). */
import type { MiddlewareHandler } from "hono";
import type { GatewayEnv } from "../../functions/http/env.ts";
import { anthropicErrorBody } from "../../functions/builtin/messages/format.ts";

export function anthropicErrors(): MiddlewareHandler<GatewayEnv> {
  return async (c, next) => {
    await next();
    const res = c.res;
    if (res.status < 400 || !/json/.test(res.headers.get("content-type") ?? "")) return;
    const body = await res.clone().json().catch(() => null) as { error?: { message?: unknown } } | null;
    if (!body?.error || typeof body.error.message !== "string") return;
    const headers = new Headers(res.headers);
    headers.delete("content-length");
    c.res = new Response(
      JSON.stringify(anthropicErrorBody(res.status, body.error.message, c.get("requestId") as string | undefined)),
      { status: res.status, headers },
    );
  };
}
