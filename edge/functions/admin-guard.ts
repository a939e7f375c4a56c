// What every admin request must pass before its key is even read, so a web page the operator happens to visit
// cannot deploy code (a "drive-by" deploy):
// - while the gateway listens on loopback, the Host must be a loopback name: a DNS-rebinding page reaches
//   127.0.0.1 under its own domain name, and its Host gives it away;
// - a state-changing request (anything but GET/HEAD/OPTIONS) must not come from another site: an Origin header
//   that is not the gateway's own is refused, and so are the content types a page may send cross-site without a
//   CORS preflight (text/plain, form encodings, none at all): a deploy is application/javascript, a rollback JSON.
import type { MiddlewareHandler } from "hono";

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);
const ALLOWED_TYPES = new Set(["application/javascript", "text/javascript", "application/json"]);
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

const refuse = (message: string, code: string) => ({
  error: { message, type: "permission_error", param: null, code },
});

/** The host name of a Host header, without its port: "127.0.0.1:8080" → "127.0.0.1", "[::1]:80" → "[::1]". */
export function hostName(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith("[")) return h.slice(0, h.indexOf("]") + 1);
  const colon = h.indexOf(":");
  return colon < 0 ? h : h.slice(0, colon);
}

export function adminGuard(loopback: boolean): MiddlewareHandler {
  return async (c, next) => {
    const url = new URL(c.req.url);
    if (loopback) {
      const host = c.req.header("host") ?? url.host;
      if (!LOOPBACK_HOSTS.has(hostName(host))) {
        return c.json(
          refuse(
            `Host ${
              JSON.stringify(host)
            } is not a loopback name; this gateway listens on loopback and answers admin requests for localhost, 127.0.0.1 or [::1] only`,
            "host_not_allowed",
          ),
          403,
        );
      }
    }
    if (SAFE_METHODS.has(c.req.method)) return next();
    const origin = c.req.header("origin");
    if (origin !== undefined && origin !== url.origin) {
      return c.json(
        refuse(`Cross-site admin request refused: Origin ${JSON.stringify(origin)} is not ${url.origin}`, "cross_site"),
        403,
      );
    }
    const type = (c.req.header("content-type") ?? "").split(";")[0].trim().toLowerCase();
    if (!ALLOWED_TYPES.has(type)) {
      return c.json(
        refuse(
          `Admin requests need Content-Type application/javascript (a deploy) or application/json, got ${
            type ? JSON.stringify(type) : "none"
          }`,
          "unsupported_content_type",
        ),
        415,
      );
    }
    return next();
  };
}
