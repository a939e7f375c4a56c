/** API-key auth: `Authorization: Bearer <key>` or `x-api-key: <key>`, checked against the operator's keys (and,
 * under /fn/<name>/, that function's own keys). Keys are compared as SHA-256 digests with a loop that always
 * runs to the end, so neither a key's content nor its length shows in response timing. */
import type { MiddlewareHandler } from "hono";
import type { GatewayEnv } from "../../functions/http/env.ts";
import { HttpError } from "../../functions/http/errors.ts";

export interface AuthOptions {
  /** Keys that open every authenticated route. */
  keys: readonly string[];
  /** Extra keys per function name, accepted only under /fn/<name>/. */
  functionKeys?: Readonly<Record<string, readonly string[]>>;
  /** Paths that need no key (exact match), e.g. /health and /ready for load balancers. */
  publicPaths?: readonly string[];
}

const encoder = new TextEncoder();

async function digest(key: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(key)));
}

/** True when `a` equals any of `candidates`; every candidate is compared in full whatever the outcome. */
function anyEqual(a: Uint8Array, candidates: readonly Uint8Array[]): boolean {
  let found = 0;
  for (const b of candidates) {
    let diff = 0;
    for (let i = 0; i < 32; i++) diff |= a[i] ^ b[i];
    found |= diff === 0 ? 1 : 0;
  }
  return found === 1;
}

/** Constant-time check of one presented secret against configured ones (used for the admin key too). */
export async function secretMatches(presented: string, secrets: readonly string[]): Promise<boolean> {
  return anyEqual(await digest(presented), await Promise.all(secrets.map(digest)));
}

/** The key a request presents and the header it came in, or null. */
export function presentedKey(headers: { get(name: string): string | null }): { key: string; header: string } | null {
  const auth = headers.get("authorization");
  if (auth) {
    const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
    return { key: m ? m[1].trim() : "", header: "authorization" };
  }
  const x = headers.get("x-api-key");
  return x !== null ? { key: x.trim(), header: "x-api-key" } : null;
}

const FN_PATH = /^\/fn\/([^/]+)(?:\/|$)/;

export function apiKeyAuth(opts: AuthOptions): MiddlewareHandler<GatewayEnv> {
  const publicPaths = new Set(opts.publicPaths ?? []);
  // digests are computed once, on the first request (crypto.subtle is async; the factory is not)
  let tables: Promise<{ global: Uint8Array[]; perFunction: Map<string, Uint8Array[]> }> | null = null;
  const load = () => (tables ??= (async () => ({
    global: await Promise.all(opts.keys.map(digest)),
    perFunction: new Map(
      await Promise.all(
        Object.entries(opts.functionKeys ?? {}).map(async ([name, keys]) =>
          [name, await Promise.all(keys.map(digest))] as const
        ),
      ),
    ),
  }))());

  return async (c, next) => {
    const path = c.req.path;
    if (publicPaths.has(path)) return next();
    const fn = FN_PATH.exec(path)?.[1];
    const { global, perFunction } = await load();
    const fnKeys = fn !== undefined ? perFunction.get(fn) ?? [] : [];
    // nothing configured for this path: the gateway is local-only (see createApp), so let it through
    if (global.length === 0 && fnKeys.length === 0) return next();
    const presented = presentedKey(c.req.raw.headers);
    if (presented === null) {
      throw new HttpError(
        401,
        "missing_api_key",
        "no API key: send it as `Authorization: Bearer <key>` or `x-api-key: <key>`",
        null,
        { "www-authenticate": 'Bearer realm="gust"' },
      );
    }
    const d = await digest(presented.key);
    if (!anyEqual(d, [...global, ...fnKeys])) {
      const scope = fn !== undefined
        ? `the gateway's keys or the keys of function ${JSON.stringify(fn)}`
        : "the gateway's keys";
      throw new HttpError(
        401,
        "invalid_api_key",
        `the API key in ${presented.header} is not one of ${scope}`,
        presented.header,
        { "www-authenticate": 'Bearer realm="gust", error="invalid_token"' },
      );
    }
    return next();
  };
}
