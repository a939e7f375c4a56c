/** The one error handler (`app.onError`): typed errors become OpenAI-shaped bodies with their status (valibot →
 * 400 naming the field path, ChatRequestError → 400 with its path and rule, RuntimeError → its status, HttpError
 * → as thrown); anything else is a 500 that names the request id and nothing internal, and is logged. */
import type { Context, ErrorHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { GatewayEnv } from "../../functions/http/env.ts";
import { type ErrorLogger, errorResponse, toHttpError } from "../../functions/http/errors.ts";

export type { ErrorLogger };

export const consoleErrorLogger: ErrorLogger = ({ requestId, error }) => {
  console.error(`gateway: request ${requestId ?? "?"} failed:`, error);
};

export function errorHandler(log: ErrorLogger = consoleErrorLogger): ErrorHandler<GatewayEnv> {
  return (err: Error, c: Context<GatewayEnv>) => {
    // A middleware already answered (the deadline's 504) while this handler ran on; keep that answer.
    if (c.get("answered") && c.finalized) return c.res;
    // an HTTPException carrying its own response (Hono's convention) is answered as is
    if (err instanceof HTTPException && (err as { res?: Response }).res) return err.getResponse();
    const requestId = c.get("requestId");
    const deadline = c.get("deadline");
    // After the deadline passed, whatever the handler throws (an abort, a broken stream) is the deadline's doing.
    const cause = deadline?.signal.aborted && !(err as { status?: number }).status ? deadline.signal.reason : err;
    const e = toHttpError(cause, requestId);
    if (e.status >= 500 && e.code === "internal_error") log({ requestId, status: e.status, error: err });
    return errorResponse(e);
  };
}
