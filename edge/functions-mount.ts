/** The /fn/<name>/* slot where deployed user functions answer. The gateway checks the name (no path characters, so
 * a name can never point outside the registry) and hands the request to the registry's handler, which can be
 * swapped at any time (a deploy replaces it atomically: requests already running keep the handler they got). */
import type { Handler } from "hono";
import type { GatewayEnv } from "./env.ts";
import { HttpError } from "./errors.ts";
import type { FunctionsHandler } from "./options.ts";

/** Function names: a letter or digit, then letters, digits, `_` or `-`; at most 64. The registry should refuse to
 * deploy any other name. */
export const FUNCTION_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

const RAW_NAME = /^\/fn\/([^/]*)/;

export class FunctionSlot {
  private handler: FunctionsHandler | null;
  constructor(initial: FunctionsHandler | null) {
    this.handler = initial;
  }

  /** Replace the registry handler (null: nothing mounted, every /fn/ request is a 404). */
  mount(handler: FunctionsHandler | null): void {
    this.handler = handler;
  }

  route(): Handler<GatewayEnv> {
    return async (c) => {
      // the raw path segment: a decoded param would turn %2F into "/" and hide it
      const raw = RAW_NAME.exec(c.req.path)?.[1] ?? "";
      let name: string;
      try {
        name = decodeURIComponent(raw);
      } catch {
        name = raw;
      }
      if (!FUNCTION_NAME_RE.test(name) || raw !== name) {
        c.set("routeLabel", "/fn/:invalid");
        throw new HttpError(
          400,
          "invalid_function_name",
          `function name ${
            JSON.stringify(name)
          } is not valid; allowed: a letter or digit, then letters, digits, _ or -, at most 64 characters`,
          "name",
        );
      }
      c.set("routeLabel", `/fn/${name}`);
      const handler = this.handler; // taken once: a deploy during this request does not switch it midway
      const res = handler ? await handler(c, name) : null;
      if (!res) {
        // unknown names are unbounded; a metrics label must not be
        c.set("routeLabel", "/fn/:unknown");
        throw new HttpError(
          404,
          "function_not_found",
          `no function named ${JSON.stringify(name)} is deployed on this gateway`,
          "name",
        );
      }
      return res;
    };
  }
}
