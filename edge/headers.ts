/** Setting a header on `c.res` even when the handler returned a Response with immutable headers (one from fetch()). */
import type { Context } from "hono";

export function setResponseHeader(c: Context, name: string, value: string): void {
  try {
    c.res.headers.set(name, value);
  } catch {
    const res = c.res;
    c.res = undefined as unknown as Response; // Hono merges headers on assignment; start from a clean slate
    const copy = new Response(res.body, res);
    copy.headers.set(name, value);
    c.res = copy;
  }
}
