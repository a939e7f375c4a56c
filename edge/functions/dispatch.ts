// The gateway's /fn/<name>/* handler over the registry: the function sees the path after its prefix and
// gets its bindings in c.env. The app object is read once per request, so a deploy mid-request does not
// switch versions under it.
//
// Example: GET /fn/summarize/v1/run?x=1 → function "summarize" receives GET /v1/run?x=1.
import type { Context } from "hono";
import type { FunctionBindings } from "../../functions/sdk/types.ts";
import type { FunctionsHandler } from "../options.ts";
import type { DeployedFunction, FunctionRegistry } from "./registry.ts";

export type BindingsFor = (c: Context, fn: DeployedFunction) => FunctionBindings | Promise<FunctionBindings>;

export function functionsHandler(registry: FunctionRegistry, bindingsFor: BindingsFor): FunctionsHandler {
  const handle: FunctionsHandler = async (c, name) => {
    const fn = registry.get(name);
    if (!fn) return null;
    const url = new URL(c.req.url);
    const prefix = `/fn/${name}`;
    url.pathname = url.pathname.length > prefix.length ? url.pathname.slice(prefix.length) : "/";
    return fn.definition.app.fetch(new Request(url, c.req.raw), await bindingsFor(c as unknown as Context, fn));
  };
  // the slot reads a function's declared limits before calling it (edge/functions-mount.ts)
  handle.limitsOf = (name) => {
    const fn = registry.get(name);
    return fn ? fn.definition.limits ?? {} : null;
  };
  return handle;
}
