/** Field readers shared by the Responses and Messages request converters: each check names the dialect's own field
 * path in its 400 (`input[2].call_id`, `messages[0].content[1].type`), so a client learns what to fix. */
import { HttpError } from "../http/errors.ts";
import type { ChatParams } from "../chat/params.ts";
import { ChatRequestError } from "../../runtime/text/errors.ts";

export type Json = Record<string, unknown>;

export function bad(field: string, message: string, code = "invalid_value"): HttpError {
  return new HttpError(400, code, `${field}: ${message}`, field);
}

const got = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "a list" : typeof v);

export function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function object(v: unknown, field: string): Json {
  if (!isObject(v)) throw bad(field, `must be an object, got ${got(v)}`);
  return v;
}

export function list(v: unknown, field: string): unknown[] {
  if (!Array.isArray(v)) throw bad(field, `must be a list, got ${got(v)}`);
  return v;
}

export function str(v: unknown, field: string): string {
  if (typeof v !== "string") throw bad(field, `must be a string, got ${got(v)}`);
  return v;
}

export function optStr(v: unknown, field: string): string | undefined {
  return v === undefined || v === null ? undefined : str(v, field);
}

export function optBool(v: unknown, field: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean") throw bad(field, `must be true or false, got ${got(v)}`);
  return v;
}

/** A number in [min, max] (or > min when `minExclusive`); absent → undefined. */
export function optNum(v: unknown, field: string, min: number, max: number, minExclusive = false): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v) || (minExclusive ? v <= min : v < min) || v > max) {
    const from = minExclusive ? `(${min}` : `[${min}`;
    const to = max === Number.MAX_VALUE ? "∞)" : `${max}]`;
    throw bad(field, `must be a number in ${from}, ${to}, got ${JSON.stringify(v)}`);
  }
  return v;
}

export function optInt(v: unknown, field: string, min: number): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min) {
    throw bad(field, `must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** The ChatParams fields neither new dialect has (n, log-probs, penalties, Mistral's safe prompt, ...). */
export function neutralDefaults(): Omit<ChatParams, "model" | "messages" | "tools" | "toolChoice" | "maxTokens"> {
  return {
    parallelToolCalls: true,
    stop: [],
    stopTokenIds: [],
    n: 1,
    logprobs: false,
    topLogprobs: 0,
    stream: false,
    includeUsage: true,
    includeReasoning: true,
    ignoreEos: false,
    continueFinal: false,
    safePrompt: false,
    responseFormat: null,
  };
}

/** Rewrites the encoder's `messages[k]...` paths to the dialect's own (`paths[k]` is where message k came from). */
export function remapPath(path: string, paths: readonly string[]): string {
  return path.replace(/^messages\[(\d+)\]/, (whole, k) => paths[Number(k)] ?? whole);
}

/** An error from the chat core, with its message paths rewritten to the dialect's fields (`messagesField` for the
 * whole conversation: `input` on Responses, `messages` on Messages). Other errors pass unchanged. */
export function inDialect(e: unknown, paths: readonly string[], messagesField: string): unknown {
  if (e instanceof ChatRequestError) {
    return new ChatRequestError(remapPath(e.path, paths), e.rule, e.detail, e.allowed);
  }
  if (e instanceof HttpError && e.param === "messages" && messagesField !== "messages") {
    return new HttpError(e.status, e.code, e.message.replace(/^messages:/, `${messagesField}:`), messagesField);
  }
  return e;
}
