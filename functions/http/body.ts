/** Reading a JSON request body once per request, shared by the reasoning middleware, the vision middleware and the
 * routes: the first reader parses and stores it in `c.var.body` / `c.var.rawBody`. */
import type { GatewayContext } from "./env.ts";
import { HttpError } from "./errors.ts";

/** Whether `req` may carry a body, read from its method and framing headers where they settle it. On Deno the `body`
 * getter makes a stream for the request body, and a body then read through it stays reachable past two young
 * collections (promoted, ~1 KiB per request; `text()` alone reads it without a stream:
 * docs/notes/2026-11-23-gateway-gc.md), so the getter is left for requests whose headers do not say (chunked, or built in-process without a length). */
export function mayHaveBody(req: Request): boolean {
  if (req.method === "GET" || req.method === "HEAD") return false;
  const framed = framedLength(req);
  return framed !== null ? framed !== 0 : req.body !== null;
}

/** The body's length when Content-Length frames it (the server then holds the body to it), or null when it does not
 * (no Content-Length, or Transfer-Encoding beside it, which wins). */
export function framedLength(req: Request): number | null {
  const declared = req.headers.get("content-length");
  return declared !== null && !req.headers.has("transfer-encoding") ? Number(declared) : null;
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);

/** The parsed body; 400 `invalid_json` when it is not JSON, 400 `invalid_type` when it is JSON but not an object. */
export async function jsonBody(c: GatewayContext): Promise<Record<string, unknown>> {
  let body = c.get("body");
  if (body === undefined) {
    let text = c.get("rawBody") as unknown;
    if (typeof text !== "string") {
      // Hono caches c.req.text(), so a middleware that read the body before us does not make this fail
      text = text instanceof Uint8Array ? new TextDecoder().decode(text) : await c.req.text();
      c.set("rawBody", text as string);
    }
    try {
      body = JSON.parse(text as string);
    } catch (e) {
      const detail = (text as string).length === 0
        ? "the request body is empty"
        : `the request body is not valid JSON (${(e as Error).message})`;
      throw new HttpError(
        400,
        "invalid_json",
        `${detail}; send a JSON object with Content-Type: application/json`,
        "body",
      );
    }
    c.set("body", body);
  }
  if (!isObject(body)) {
    const got = body === null ? "null" : Array.isArray(body) ? "an array" : typeof body;
    throw new HttpError(400, "invalid_type", `the request body must be a JSON object, got ${got}`, "body");
  }
  return body;
}
