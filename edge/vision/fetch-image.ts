/** Fetching an image URL without becoming a proxy into the private network:
 *   1. the URL passes url-policy (enabled, allowlisted host, allowed port, no credentials, no private literal);
 *   2. the host is resolved (all addresses) and every address must be public — one private answer refuses the
 *      URL, so a name cannot mix a public and an internal address;
 *   3. we connect to one of the addresses we checked (never to the name, which could resolve differently a
 *      second time: DNS rebinding) and confirm the socket's peer is that address;
 *   4. redirects are followed by hand, at most `maxRedirects`, each target going through 1–3 again;
 *   5. one deadline covers everything, and the body is capped while it streams.
 * The resolver and the dialer are injectable so tests can map names and "public" addresses to a local server. */
import { lookup } from "node:dns/promises";
import { connect as netConnect } from "node:net";
import type { Duplex } from "node:stream";
import { connect as tlsConnect } from "node:tls";
import { num, VisionError } from "./errors.ts";
import { httpGet } from "./http-get.ts";
import { parseIp, refusedAddress } from "./ip-policy.ts";
import { ALLOW_FLAG_HINT, checkUrl } from "./url-policy.ts";
import type { UrlPolicy } from "./url-policy.ts";

export interface DialRequest {
  address: string;
  port: number;
  tls: boolean;
  /** TLS server name (the URL's host name; absent for IP literals). */
  servername?: string;
  /** Aborted when the fetch deadline passes: the dialer must give up and close what it opened. */
  signal: AbortSignal;
}

export interface FetchHooks {
  /** All addresses of a host name. Default: node:dns/promises lookup with all: true. */
  resolve?: (host: string) => Promise<string[]>;
  /** A connected socket to exactly `address`. Default: node:net / node:tls. */
  dial?: (req: DialRequest) => Promise<Duplex>;
}

export interface FetchPolicy extends UrlPolicy {
  maxImageBytes: number;
  fetchTimeoutMs: number;
  maxRedirects: number;
  fetchHooks?: FetchHooks;
}

export interface Fetched {
  bytes: Uint8Array;
  contentType: string | null;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

async function defaultResolve(host: string): Promise<string[]> {
  return (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
}

/** Connect and check that the peer is the address we asked for (a socket layer that re-resolved would fail here).
 * The default dialer; exported for tests. */
export function dialChecked(req: DialRequest): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const sock = req.tls
      ? tlsConnect({ host: req.address, port: req.port, servername: req.servername, ALPNProtocols: ["http/1.1"] })
      : netConnect({ host: req.address, port: req.port });
    const abort = () => sock.destroy();
    req.signal.addEventListener("abort", abort, { once: true });
    sock.once("close", () => req.signal.removeEventListener("abort", abort));
    sock.once(req.tls ? "secureConnect" : "connect", () => {
      const peer = sock.remoteAddress ? parseIp(sock.remoteAddress.replace(/^::ffff:(?=\d+\.)/, "")) : null;
      const want = parseIp(req.address);
      if (!peer || !want || peer.length !== want.length || peer.some((b, i) => b !== want[i])) {
        sock.destroy();
        reject(
          new VisionError(
            403,
            "image_url_refused",
            "image URL connection ended up at a different address than the one checked",
          ),
        );
        return;
      }
      resolve(sock);
    });
    sock.once(
      "error",
      () =>
        reject(
          new VisionError(400, "image_url_fetch", "image URL host refused the connection or could not be reached"),
        ),
    );
  });
}

/** Checked addresses of a target; throws 403 if any is refused, 400 if the name does not resolve. */
async function addressesOf(
  host: string,
  literal: boolean,
  trusted: boolean,
  resolve: (h: string) => Promise<string[]>,
): Promise<string[]> {
  if (literal) return [host];
  let addrs: string[];
  try {
    addrs = await resolve(host);
  } catch {
    throw new VisionError(400, "image_url_fetch", `image URL host ${host} could not be resolved`);
  }
  if (addrs.length === 0) throw new VisionError(400, "image_url_fetch", `image URL host ${host} has no addresses`);
  for (const a of trusted ? [] : addrs) {
    const why = refusedAddress(a);
    // Say what kind of address, not which: the client need not learn our internal DNS.
    if (why) {
      throw new VisionError(
        403,
        "image_url_refused",
        `image URL host ${host} resolves to ${
          why.replace(/ \(.*\)$/, "")
        }; only public addresses are fetched (${ALLOW_FLAG_HINT})`,
      );
    }
  }
  return addrs;
}

async function fetchChecked(start: URL, p: FetchPolicy, signal: AbortSignal): Promise<Fetched> {
  const resolve = p.fetchHooks?.resolve ?? defaultResolve;
  const dial = p.fetchHooks?.dial ?? dialChecked;
  let url = start;
  for (let hop = 0;; hop++) {
    const t = checkUrl(url, p);
    const addrs = await addressesOf(t.host, t.literal, t.trusted, resolve);
    let sock: Duplex | null = null;
    for (const address of addrs) {
      if (signal.aborted) break;
      try {
        sock = await dial({ address, port: t.port, tls: t.tls, servername: t.literal ? undefined : t.host, signal });
        break;
      } catch (e) {
        if (e instanceof VisionError && e.status === 403) throw e;
      }
    }
    if (!sock) throw new VisionError(400, "image_url_fetch", `image URL host ${t.host} could not be reached`);
    const open = sock;
    const abort = () => open.destroy();
    if (signal.aborted) abort();
    signal.addEventListener("abort", abort, { once: true });
    let res;
    try {
      res = await httpGet(open, t, p.maxImageBytes);
    } finally {
      signal.removeEventListener("abort", abort);
    }
    if (REDIRECTS.has(res.status)) {
      const loc = res.headers.get("location");
      if (!loc) {
        throw new VisionError(400, "image_url_fetch", `image URL answered HTTP ${res.status} without a Location`);
      }
      if (hop >= p.maxRedirects) {
        throw new VisionError(
          400,
          "image_url_fetch",
          `image URL redirected more than ${p.maxRedirects} times; the limit is ${p.maxRedirects}`,
        );
      }
      try {
        url = new URL(loc, url);
      } catch {
        throw new VisionError(400, "image_url_fetch", "image URL redirected to an invalid URL");
      }
      continue;
    }
    if (res.status !== 200) {
      throw new VisionError(
        400,
        "image_url_fetch",
        `image URL answered HTTP ${res.status}; expected 200 with an image`,
      );
    }
    return { bytes: res.body, contentType: res.headers.get("content-type") ?? null };
  }
}

/** Fetch `url` under the policy; VisionError on refusal (403), failure (400) or size (413). */
export async function fetchImage(url: URL, p: FetchPolicy): Promise<Fetched> {
  const ctl = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      ctl.abort();
      reject(
        new VisionError(
          400,
          "image_url_fetch",
          `image URL did not deliver the image within ${num(p.fetchTimeoutMs)} ms`,
        ),
      );
    }, p.fetchTimeoutMs);
  });
  try {
    const work = fetchChecked(url, p, ctl.signal);
    work.catch(() => {}); // after a timeout its late rejection is expected and ignored
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
    ctl.abort(); // nothing may stay open once we return
  }
}

/** Content-Type policy for fetched images: image/*, application/octet-stream or none; the bytes then decide. */
export function checkContentType(contentType: string | null): void {
  if (contentType === null) return;
  const mime = contentType.split(";")[0].trim().toLowerCase();
  if (mime.startsWith("image/") || mime === "application/octet-stream" || mime === "") return;
  throw new VisionError(
    400,
    "image_mime",
    `image URL answered with Content-Type ${mime}, not an image; allowed: image/png, image/jpeg, image/gif, image/webp`,
  );
}
