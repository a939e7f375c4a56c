/** Errors the gateway answers with, and the one mapping from any thrown value to an OpenAI-shaped error body
 * `{error: {message, type, param, code}}` (Mistral's SDK and most other clients read the same shape). */
import { HTTPException } from "hono/http-exception";
import * as v from "valibot";
import { RuntimeError } from "../sdk/binding.ts";
import { ChatRequestError } from "../../runtime/text/errors.ts";
import { bodyInMemory } from "./lifecycle.ts";

export type ErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "not_found_error"
  | "rate_limit_error"
  | "timeout_error"
  | "server_error"
  | "service_unavailable_error";

export interface ErrorBody {
  error: { message: string; type: ErrorType | string; param: string | null; code: string | null };
}

/** An error with an HTTP status, thrown by middleware and routes; `headers` go on the response (Retry-After). */
export class HttpError extends Error {
  override name = "HttpError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
    readonly type: ErrorType = defaultType(status),
  ) {
    super(message);
  }

  toJSON(): ErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

function defaultType(status: number): ErrorType {
  if (status === 401) return "authentication_error";
  if (status === 403) return "permission_error";
  if (status === 404) return "not_found_error";
  if (status === 429) return "rate_limit_error";
  if (status === 503) return "service_unavailable_error";
  if (status === 504) return "timeout_error";
  return status >= 500 ? "server_error" : "invalid_request_error";
}

/** Errors from other parts of edge/ (the vision library) that already carry a status and an OpenAI body. */
interface SelfDescribingError {
  status: number;
  toJSON(): ErrorBody;
}

function isSelfDescribing(e: unknown): e is SelfDescribingError {
  const s = (e as { status?: unknown })?.status;
  return e instanceof Error && typeof s === "number" && s >= 400 && s < 600 &&
    typeof (e as { toJSON?: unknown }).toJSON === "function";
}

/** `messages[2].role` from a valibot issue path (valibot's own dot path would say `messages.2.role`). */
export function issuePath(issue: v.BaseIssue<unknown>): string {
  let out = "";
  for (const item of issue.path ?? []) {
    const key = item.key;
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? String(key) : `.${String(key)}`;
  }
  return out;
}

/** The status and body for anything thrown while handling a request. Unknown errors become a 500 whose message
 * names the request id and nothing internal (stacks and messages of foreign errors can carry paths or secrets). */
export function toHttpError(err: unknown, requestId?: string): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof v.ValiError) {
    const issue = err.issues[0] as v.BaseIssue<unknown>;
    const path = issuePath(issue) || "request";
    const more = err.issues.length > 1
      ? ` (and ${err.issues.length - 1} more problem${err.issues.length > 2 ? "s" : ""})`
      : "";
    return new HttpError(400, "invalid_value", `${path}: ${issue.message}${more}`, path);
  }
  if (err instanceof ChatRequestError) {
    const allowed = err.allowed ? `; allowed: ${err.allowed}` : "";
    return new HttpError(400, err.rule, `${err.path}: ${err.detail}${allowed}`, err.path);
  }
  if (err instanceof RuntimeError) {
    const code = err.code === "context_overflow" ? "context_length_exceeded" : err.code;
    const retry: Record<string, string> = err.status === 429 || err.status === 503 ? { "retry-after": "1" } : {};
    return new HttpError(err.status, code, err.message, null, retry);
  }
  if (isSelfDescribing(err)) {
    const body = err.toJSON().error;
    return new HttpError(err.status, body.code ?? "error", body.message, body.param, {}, body.type as ErrorType);
  }
  // Hono's HTTPException, and errors a function tagged with an HTTP status on purpose (`Object.assign(new
  // Error("..."), {status: 503})`): the thrower chose the status, so its message is meant for the client.
  const tagged = (err as { status?: unknown })?.status;
  if (err instanceof Error && typeof tagged === "number" && Number.isInteger(tagged) && tagged >= 400 && tagged < 600) {
    const own = (err as unknown as { code?: unknown }).code;
    const code = typeof own === "string" ? own : err instanceof HTTPException ? "http_exception" : "error";
    const retry: Record<string, string> = tagged === 503 || tagged === 429 ? { "retry-after": "1" } : {};
    return new HttpError(tagged, code, err.message || `request failed with status ${tagged}`, null, retry);
  }
  const ref = requestId ? ` (request id ${requestId})` : "";
  return new HttpError(500, "internal_error", `internal error in the gateway${ref}; the request was not completed`);
}

/** The 504 for a request whose deadline passed (the deadline middleware aborts with it). */
export function deadlineExceeded(timeoutMs: number): HttpError {
  return new HttpError(
    504,
    "deadline_exceeded",
    `the request did not finish within the gateway's deadline of ${timeoutMs} ms; its generation was aborted`,
  );
}

/** Where the gateway logs a failure that the client only sees as a 500 (or an error event in a stream). */
export type ErrorLogger = (entry: { requestId: string | undefined; status: number; error: unknown }) => void;

export function errorResponse(e: HttpError): Response {
  return bodyInMemory(
    new Response(JSON.stringify(e.toJSON()), {
      status: e.status,
      headers: { "content-type": "application/json; charset=utf-8", ...e.headers },
    }),
  );
}
