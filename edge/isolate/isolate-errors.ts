// What a function's caller is told when its isolate fails it: the limit it hit (watchdog.ts), why the process
// ended, or what the handler did instead of answering.
import { HttpError } from "../../functions/http/errors.ts";
import type { FromIsolate } from "./protocol.ts";
import { type LimitHit, outOfMemory } from "./watchdog.ts";

/** Why an isolate's process ended when no limit killed it: out of memory (V8's own cap), or an exit. */
export function exitReason(name: string, stderr: string, code: number | null, memoryMiB: number): LimitHit {
  if (/out of memory|heap limit|allocation failed/i.test(stderr)) {
    return { message: outOfMemory(name, { memoryMiB }), status: 503 };
  }
  const exited = `isolate exited${code === null ? "" : ` with code ${code}`}`;
  return {
    message: `function ${JSON.stringify(name)}'s ${exited}; it is started again for the next request`,
    status: 503,
  };
}

/** The error request `id` gets when its isolate went for `hit`: the hit's own status for the request that hit the
 * limit, 503 for the others it shared the isolate with. */
export function limitError(hit: LimitHit, id: number): HttpError {
  const status = hit.requestId === id ? hit.status : 503;
  return new HttpError(status, status === 504 ? "function_wall_time" : "function_isolate_failed", hit.message);
}

/** A request whose handler failed before a response head: it returned something else (502) or threw (500). */
export function failedBeforeHead(name: string, f: FromIsolate): HttpError {
  const fn = `function ${JSON.stringify(name)}`;
  return f.t === "res-error" && f.notResponse
    ? new HttpError(502, "function_bad_response", `${fn} returned ${f.notResponse} instead of a Response`)
    : new HttpError(500, "function_error", `${fn} failed; its log has the details`);
}
