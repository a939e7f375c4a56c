/** `vision()`: Hono middleware that finds the images of a chat request, checks them against the function's caps,
 * decodes and resizes them the way mistral-common does, and hands the result to the handler:
 *
 *   app.post("/v1/chat/completions", vision({ maxImages: 4, allowUrls: true, urlAllowlist: ["*.example.com"] }),
 *     async (c) => {
 *       const { images, imageTokens } = c.get("vision");
 *       const chat = encodeChatJson(tok, c.get("rawBody"), { resolveImage: (src) => images.get(src)! });
 *       // chat.images[k] ↔ images.get(source): the runtime gets rgb, width, height in prompt order
 *     });
 *
 * It reads the body once: an earlier reader's `body` (parsed) or `rawBody` (text) is reused, and both are set
 * otherwise (the chat encoder parses the raw text itself, Python-style). A GET/HEAD or an empty body passes with no images.
 * Refusals answer `{error: {message, type, code, param}}` — 400 bad image / type / count, 403 refused URL,
 * 413 over a byte, pixel or token cap (the message states the limit and the actual value) — and the handler
 * does not run. Nothing thrown inside escapes as a stack trace. */
import type { MiddlewareHandler } from "hono";
import { bodyInMemory } from "../../functions/http/lifecycle.ts";
import { ImageCache } from "../vision/cache.ts";
import { asVisionError, VisionError } from "../vision/errors.ts";
import { resolveOptions } from "../vision/options.ts";
import type { VisionOptions } from "../vision/options.ts";
import { emptyVision, prepareRequestImages } from "../vision/request-images.ts";
import type { VisionContext } from "../vision/request-images.ts";

declare module "hono" {
  interface ContextVariableMap {
    /** Set by vision(): the request's prepared images and their token total. */
    vision: VisionContext;
    /** The request body text, read once by whichever middleware got there first. */
    rawBody: string;
  }
}

export type { VisionContext, VisionOptions };

export function vision(options: VisionOptions = {}): MiddlewareHandler {
  const o = resolveOptions(options);
  // One cache per middleware instance (so per function) unless one is given or caching is off.
  const cache = o.cache === false ? null : (o.cache ?? new ImageCache());
  return async (c, next) => {
    if (c.req.method === "GET" || c.req.method === "HEAD") {
      c.set("vision", emptyVision(o.maxImageSize));
      return next();
    }
    try {
      // `body` (parsed JSON) is the gateway's shared slot (functions/http/body.ts); it is not in this module's typings.
      const shared = c as unknown as { get(k: "body"): unknown; set(k: "body", v: unknown): void };
      let body = shared.get("body");
      if (body === undefined) {
        let text = c.get("rawBody");
        if (typeof text !== "string") {
          text = await c.req.text();
          c.set("rawBody", text);
        }
        body = null;
        if (text.trim() !== "") {
          try {
            body = JSON.parse(text);
          } catch {
            throw new VisionError(400, "invalid_json", "request body is not valid JSON; send a JSON chat request");
          }
          shared.set("body", body);
        }
      }
      c.set("vision", await prepareRequestImages(body, o, cache));
    } catch (e) {
      const err = asVisionError(e);
      return bodyInMemory(c.json(err.toJSON(), err.status));
    }
    return next();
  };
}
