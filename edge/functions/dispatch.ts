// Routes /fn/<name>/<rest> to the active version of a deployed function: the function sees /<rest>,
// its bindings in c.env. The app object is read once per request, so a deploy mid-request does not
// switch versions under it.
//
// Example: GET /fn/summarize/v1/run?x=1 → function "summarize" receives GET /v1/run?x=1.
import type { Context } from "hono";
import type { FunctionBindings } from "../../functions/sdk/types.ts";
import { FUNCTION_NAME, type DeployedFunction, type FunctionRegistry } from "./registry.ts";

export type BindingsFor = (c: Context, fn: DeployedFunction) => FunctionBindings | Promise<FunctionBindings>;

function errorBody(message: string, type: string, code: string) {
  return { error: { message, type, param: null, code } };
}

export function functionsHandler(registry: FunctionRegistry, bindingsFor: BindingsFor) {
  return async (c: Context): Promise<Response> => {
    const url = new URL(c.req.url);
    const match = /^\/fn\/([^/]*)(\/.*)?$/.exec(url.pathname);
    const rawName = match ? decodeURIComponent(match[1]) : "";
    if (!FUNCTION_NAME.test(rawName))
      return c.json(errorBody(`Function name ${JSON.stringify(rawName)} is invalid: names are 1-63 lowercase letters, digits and dashes`, "invalid_request_error", "invalid_function_name"), 400);
    const fn = registry.get(rawName);
    if (!fn) return c.json(errorBody(`No function named ${rawName} is deployed (deploy one with \`gust deploy FILE --name ${rawName}\`)`, "not_found_error", "function_not_found"), 404);
    const inner = new URL(url);
    inner.pathname = match?.[2] ?? "/";
    const request = new Request(inner, c.req.raw);
    return fn.definition.app.fetch(request, await bindingsFor(c, fn));
  };
}
