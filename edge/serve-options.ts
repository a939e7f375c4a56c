/** What both server entries share: the listen address rule (no API key configured → loopback only) and the
 * options they take. */

export interface ServeOptions {
  /** Default 8080. */
  port?: number;
  /** Default 127.0.0.1 when the app is local-only (no API key), else 0.0.0.0. */
  hostname?: string;
}

/** The app (or anything with a fetch) a server entry serves. */
export interface Servable {
  fetch(req: Request, env?: Record<string, unknown>): Response | Promise<Response>;
  /** From createApp: true when no API key is configured. */
  localOnly?: boolean;
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1", "[::1]"]);

export const isLoopback = (hostname: string): boolean => LOOPBACK.has(hostname);

export function listenHostname(localOnly: boolean, hostname?: string): string {
  if (!localOnly) return hostname ?? "0.0.0.0";
  const h = hostname ?? "127.0.0.1";
  if (!LOOPBACK.has(h)) {
    throw new Error(
      `no API key is configured (set GUST_API_KEYS or pass apiKeys), so the gateway listens on loopback only and will not bind ${h}; configure a key to serve other addresses`,
    );
  }
  return h;
}

export const DEFAULT_PORT = 8080;
