/** `vision()` for functions: finds the images of the request's chat body, decodes and resizes them for the model
 * (the gateway's vision library does the work, through `c.var.model.prepareImages`, so a deployed bundle carries no
 * image codecs), and puts them in `c.var.vision` for the handler to pass on:
 *
 *   app.post("/", vision({ maxImages: 2 }), async (c) => {
 *     const { messages } = await c.req.json();
 *     return c.json(await c.var.model.chat({ messages, vision: c.var.vision }));
 *   });
 *
 * A refused image answers 400 / 403 / 413 naming the part, and the handler does not run. */
import type { MiddlewareHandler } from "hono";
import { jsonBody, mayHaveBody } from "../http/body.ts";
import type { FunctionEnv, FunctionVisionOptions } from "./types.ts";

export function vision(options: FunctionVisionOptions = {}): MiddlewareHandler<FunctionEnv> {
  return async (c, next) => {
    const model = c.env?.model ?? c.get("model");
    const body = mayHaveBody(c.req.raw) ? await jsonBody(c as never) : null;
    c.set("vision", await model.prepareImages(body, options));
    await next();
  };
}
