/** Whether a URL may be fetched at all, before any DNS: scheme, credentials, port, host allowlist, and IP-literal
 * hosts against the address policy. Applied to the first URL and to every redirect target alike. */
import { VisionError } from "./errors.ts";
import { parseIp, refusedAddress } from "./ip-policy.ts";

export interface UrlPolicy {
  allowUrls: boolean;
  urlAllowlist: string[];
  urlPorts: number[];
  /** `HOST` or `HOST:PORT` (`[v6]:PORT`): fetched even at private addresses (an operator's internal image server);
   * without a port, on urlPorts. gust serve/dev: --image-url-allow. */
  urlTrustedHosts?: string[];
}

/** Where refusals point the operator (the flags of gust serve and gust dev). */
export const ALLOW_FLAG_HINT = "an operator can allow a host with --image-url-allow HOST[:PORT]";

export interface Target {
  /** Lower-case host without brackets or trailing dot. */
  host: string;
  /** True when host is an IP literal (no DNS). */
  literal: boolean;
  port: number;
  tls: boolean;
  /** Path and query to request. */
  path: string;
  /** Host header value (host[:port] as in the URL). */
  hostHeader: string;
  /** Named by urlTrustedHosts: its addresses are not checked against the public-only policy. */
  trusted: boolean;
}

/** Does `host:port` match a trusted entry? `internal.example:8080` matches only that port; `internal.example` the
 * allowed ports. Example: entries ["[::1]:9000"] trust http://[::1]:9000/ and nothing else. */
export function hostTrusted(host: string, port: number, entries: readonly string[], ports: readonly number[]): boolean {
  return entries.some((entry) => {
    const m = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(entry.trim().toLowerCase());
    if (!m) return false;
    const name = (m[1] ?? m[2]).replace(/\.$/, "");
    return name === host && (m[3] !== undefined ? Number(m[3]) === port : ports.includes(port));
  });
}

/** `example.com` matches only itself; `*.example.com` matches subdomains of it (not example.com); `*` any host. */
export function hostAllowed(host: string, allowlist: string[]): boolean {
  return allowlist.some((entry) => {
    const e = entry.toLowerCase().replace(/\.$/, "");
    if (e === "*") return true;
    if (e.startsWith("*.")) return host.endsWith(e.slice(1)) && host.length > e.length - 1;
    return host === e;
  });
}

export function checkUrl(url: URL, policy: UrlPolicy): Target {
  if (!policy.allowUrls) {
    throw new VisionError(
      403,
      "image_url_disabled",
      "this endpoint does not fetch image URLs; send the image inline as data:image/<type>;base64,<payload>, or start the gateway (gust serve/dev) with --image-urls public",
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new VisionError(
      403,
      "image_url_refused",
      `image URL scheme ${url.protocol} is not fetched; allowed: http:, https:`,
    );
  }
  if (url.username || url.password) {
    throw new VisionError(403, "image_url_refused", "image URLs with credentials (user:password@) are not fetched");
  }
  const tls = url.protocol === "https:";
  const port = url.port ? Number(url.port) : tls ? 443 : 80;
  const host = url.hostname.replace(/^\[|\]$/g, "").replace(/\.$/, "").toLowerCase();
  const literal = parseIp(host) !== null;
  const path = (url.pathname || "/") + url.search;
  if (hostTrusted(host, port, policy.urlTrustedHosts ?? [], policy.urlPorts)) {
    return { host, literal, port, tls, path, hostHeader: url.host, trusted: true };
  }
  if (!policy.urlPorts.includes(port)) {
    throw new VisionError(
      403,
      "image_url_refused",
      `image URL port ${port} is not allowed; allowed ports: ${policy.urlPorts.join(", ")} (${ALLOW_FLAG_HINT})`,
    );
  }
  if (!hostAllowed(host, policy.urlAllowlist)) {
    const allowed = policy.urlAllowlist.length ? policy.urlAllowlist.join(", ") : "none configured";
    throw new VisionError(
      403,
      "image_url_refused",
      `image URL host ${host} is not on this endpoint's allowlist (${allowed}); ${ALLOW_FLAG_HINT}`,
    );
  }
  if (literal) {
    const why = refusedAddress(host);
    if (why) {
      throw new VisionError(
        403,
        "image_url_refused",
        `image URL host ${host} is ${why}; only public addresses are fetched (${ALLOW_FLAG_HINT})`,
      );
    }
  }
  return { host, literal, port, tls, path, hostHeader: url.host, trusted: false };
}
