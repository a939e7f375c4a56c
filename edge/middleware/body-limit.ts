/** Body size limit: a declared Content-Length over the limit is refused before reading (the server enforces the
 * declared length); a chunked body is counted as it arrives and refused the moment it passes the limit, so an
 * oversized upload never sits in memory whole. */
import type { MiddlewareHandler } from "hono";
import type { GatewayEnv } from "../../functions/http/env.ts";
import { framedLength } from "../../functions/http/body.ts";
import { HttpError } from "../../functions/http/errors.ts";

export interface BodyLimitOptions {
  maxBytes: number;
}

export function formatBytes(n: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB"];
  let u = 0;
  let x = n;
  while (x >= 1024 && u < units.length - 1 && x % 1024 === 0) {
    x /= 1024;
    u++;
  }
  return u === 0 ? `${n} bytes` : `${n} bytes (${x} ${units[u]})`;
}

function tooLarge(maxBytes: number, got?: number): HttpError {
  const what = got !== undefined ? `is ${got} bytes, over` : "is larger than";
  return new HttpError(
    413,
    "request_too_large",
    `the request body ${what} the limit of ${formatBytes(maxBytes)}`,
    null,
  );
}

export function bodyLimit(opts: BodyLimitOptions): MiddlewareHandler<GatewayEnv> {
  const max = opts.maxBytes;
  return async (c, next) => {
    const raw = c.req.raw;
    if (c.req.method === "GET" || c.req.method === "HEAD") return next();
    const declared = raw.headers.get("content-length");
    if (declared !== null) {
      const n = Number(declared);
      if (Number.isFinite(n) && n > max) throw tooLarge(max, n);
    }
    if (framedLength(raw) !== null) return next(); // the server holds the body to it
    // No length declared (chunked): read and count now, refusing the moment the limit passes, then hand the
    // routes a buffered body. Routes read the whole JSON body anyway, so nothing is lost by reading it here.
    // Only here the body getter, which on Deno makes a stream (why that matters: mayHaveBody in functions/http/body.ts).
    const body = raw.body;
    if (body === null) return next();
    const reader = body.getReader();
    const chunks: Uint8Array[] = [];
    let seen = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      seen += value.byteLength;
      if (seen > max) {
        await reader.cancel().catch(() => {});
        throw tooLarge(max);
      }
      chunks.push(value);
    }
    const whole = new Uint8Array(seen);
    let at = 0;
    for (const ch of chunks) {
      whole.set(ch, at);
      at += ch.byteLength;
    }
    c.req.raw = new Request(raw, { body: whole, signal: raw.signal }); // keep the disconnect signal
    return next();
  };
}
