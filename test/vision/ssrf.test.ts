// URL fetching under the SSRF policy. A real HTTP server on 127.0.0.1 plays "the internet": the injected
// resolver maps test names to addresses, and the injected dialer connects the one public test address
// (93.184.216.34) to that server and records every dial, so the tests also prove that nothing ever dials a
// refused address. Literal private addresses, names resolving to them, and redirects to either are refused.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import type { Duplex } from "node:stream";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { vision } from "../../edge/middleware/vision.ts";
import { dialChecked, fetchImage } from "../../edge/vision/fetch-image.ts";
import type { DialRequest, FetchHooks } from "../../edge/vision/fetch-image.ts";
import { parseIp, refusedAddress } from "../../edge/vision/ip-policy.ts";
import { resolveOptions } from "../../edge/vision/options.ts";
import type { VisionOptions } from "../../edge/vision/options.ts";
import { hostTrusted } from "../../edge/vision/url-policy.ts";
import { imageUrlOptions } from "../../edge/vision/url-settings.ts";
import { chatWith, makeImage } from "./helpers.ts";

const PUBLIC = "93.184.216.34";
const DNS: Record<string, string[]> = {
  "img.test": [PUBLIC],
  "cdn.img.test": [PUBLIC],
  "internal.test": ["10.0.0.5"],
  "meta.test": ["169.254.169.254"],
  "loop.test": ["127.0.0.1"],
  "v6.test": ["::1"],
  "ula.test": ["fd12:3456::1"],
  "mapped.test": ["::ffff:10.1.2.3"],
  "mixed.test": [PUBLIC, "192.168.1.10"], // one private answer is enough to refuse
};

let port = 0;
let png: Uint8Array;
const server = createServer((req, res) => {
  const u = new URL(req.url ?? "/", "http://x");
  if (u.pathname === "/img.png") {
    res.writeHead(200, { "content-type": "image/png", "content-length": png.length });
    res.end(png);
  } else if (u.pathname === "/chunked.png") {
    res.writeHead(200, { "content-type": "image/png" }); // no length: chunked
    for (let i = 0; i < png.length; i += 100) res.write(png.subarray(i, i + 100));
    res.end();
  } else if (u.pathname === "/redirect") {
    res.writeHead(302, { location: u.searchParams.get("to") ?? "/" });
    res.end();
  } else if (u.pathname === "/chain") {
    const n = Number(u.searchParams.get("n"));
    res.writeHead(301, { location: n > 0 ? `/chain?n=${n - 1}` : "/img.png" });
    res.end();
  } else if (u.pathname === "/html") {
    res.writeHead(200, { "content-type": "text/html" });
    res.end(png);
  } else if (u.pathname === "/huge") {
    res.writeHead(200, { "content-type": "image/png", "content-length": 50_000_000 });
    res.write(png);
  } else if (u.pathname === "/endless") {
    res.writeHead(200, { "content-type": "image/png" });
    const timer = setInterval(() => res.write(new Uint8Array(4096)), 1);
    res.on("close", () => clearInterval(timer));
  } else if (u.pathname === "/silent") {
    // never answers; the fetch deadline must end it
  } else {
    res.writeHead(404);
    res.end();
  }
});

beforeAll(async () => {
  png = await makeImage(40, 30);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

function hooks(dials: DialRequest[]): FetchHooks {
  return {
    resolve: async (host) => {
      const a = DNS[host];
      if (!a) throw new Error("ENOTFOUND");
      return a;
    },
    dial: (req) => {
      dials.push(req);
      if (req.address !== PUBLIC) return Promise.reject(new Error(`test dialer: refused to dial ${req.address}`));
      return new Promise<Duplex>((resolve, reject) => {
        const s = connect({ host: "127.0.0.1", port }, () => resolve(s));
        s.once("error", reject);
        req.signal.addEventListener("abort", () => s.destroy());
      });
    },
  };
}

async function request(url: string, extra: VisionOptions = {}) {
  const dials: DialRequest[] = [];
  const a = new Hono();
  a.post("/chat", vision({ allowUrls: true, urlAllowlist: ["*"], fetchHooks: hooks(dials), ...extra }), (c) => {
    const img = c.get("vision").images.get(url)!;
    return c.json({ width: img.width, height: img.height, tokens: c.get("vision").imageTokens });
  });
  const res = await a.request("/chat", { method: "POST", body: JSON.stringify(chatWith(url)) });
  return { status: res.status, json: (await res.json()) as any, dials };
}

const refused = (r: { status: number; json: any; dials: DialRequest[] }, code: string, message: RegExp) => {
  expect(r.status).toBe(403);
  expect(r.json.error.code).toBe(code);
  expect(r.json.error.message).toMatch(message);
  expect(r.dials.filter((d) => d.address !== PUBLIC)).toEqual([]); // never dialled a refused address
};

describe("fetching allowed images", () => {
  it("a public host on the allowlist is fetched, decoded and resized", async () => {
    const r = await request("http://img.test/img.png", { urlAllowlist: ["img.test"] });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ width: 56, height: 56, tokens: 6 }); // 40 x 30 -> 2 x 2 grid -> 4 + 2 row ends
    expect(r.dials.map((d) => [d.address, d.port, d.tls])).toEqual([[PUBLIC, 80, false]]);
  });

  it("chunked bodies, and up to maxRedirects redirects, each re-checked", async () => {
    expect((await request("http://img.test/chunked.png")).status).toBe(200);
    const r = await request("http://img.test/chain?n=2");
    expect(r.status).toBe(200);
    expect(r.dials.length).toBe(4);
  });

  it("the default dialer connects to the checked address and confirms the peer", async () => {
    const ctl = new AbortController();
    const s = await dialChecked({ address: "127.0.0.1", port, tls: false, signal: ctl.signal });
    expect((s as unknown as { remoteAddress: string }).remoteAddress).toBe("127.0.0.1");
    s.destroy();
  });
});

describe("refused URLs (403)", () => {
  it("URLs are off unless enabled", async () => {
    const r = await request("http://img.test/img.png", { allowUrls: false });
    refused(r, "image_url_disabled", /does not fetch image URLs; send the image inline/);
    expect(r.dials).toEqual([]);
  });

  it("hosts off the allowlist, wildcard semantics, ports and credentials", async () => {
    refused(
      await request("http://img.test/img.png", { urlAllowlist: [] }),
      "image_url_refused",
      /not on this endpoint's allowlist \(none configured\)/,
    );
    refused(
      await request("http://img.test/img.png", { urlAllowlist: ["*.img.test"] }),
      "image_url_refused",
      /img.test is not on this endpoint's allowlist/,
    );
    expect((await request("http://cdn.img.test/img.png", { urlAllowlist: ["*.img.test"] })).status).toBe(200);
    refused(
      await request("http://img.test:8080/img.png"),
      "image_url_refused",
      /port 8080 is not allowed; allowed ports: 80, 443/,
    );
    refused(await request("http://user:pw@img.test/img.png"), "image_url_refused", /credentials/);
  });

  const literals: [string, RegExp][] = [
    ["http://127.0.0.1/img.png", /loopback/],
    ["http://169.254.169.254/latest/meta-data/", /link-local/],
    ["http://[::1]/img.png", /loopback address \(::1\)/],
    ["http://[::ffff:127.0.0.1]/", /IPv4-mapped/],
    ["http://[fe80::1]/", /link-local/],
    ["http://[fd00::1]/", /unique-local/],
    ["http://[::]/", /unspecified/],
    ["http://0.0.0.0/", /unspecified/],
    ["http://10.1.2.3/", /private/],
    ["http://172.31.0.1/", /private/],
    ["http://192.168.0.1/", /private/],
    ["http://100.64.0.1/", /carrier-grade NAT/],
    ["http://2130706433/", /loopback/], // decimal form, normalised to 127.0.0.1 by the URL parser
    ["http://0x7f.1/", /loopback/],
    ["http://[64:ff9b::a9fe:a9fe]/", /embedding a link-local/], // NAT64 of 169.254.169.254
  ];
  for (const [url, why] of literals) {
    it(`literal ${url}`, async () => refused(await request(url), "image_url_refused", why));
  }

  const names: [string, RegExp][] = [
    ["http://internal.test/", /internal.test resolves to a private address/],
    ["http://meta.test/", /resolves to a link-local address/],
    ["http://loop.test/", /resolves to a loopback address/],
    ["http://v6.test/", /resolves to a loopback address/],
    ["http://ula.test/", /resolves to a unique-local address/],
    ["http://mapped.test/", /resolves to an IPv4-mapped IPv6 address/],
    ["http://mixed.test/", /resolves to a private address/],
  ];
  for (const [url, why] of names) {
    it(`DNS name ${url} (checked after resolution)`, async () => {
      const r = await request(url);
      refused(r, "image_url_refused", why);
      expect(r.dials).toEqual([]);
      expect(r.json.error.message).not.toMatch(/10\.0\.0\.5|192\.168/); // the internal address is not echoed
    });
  }

  it("localhost through the real resolver", async () => {
    const o = resolveOptions({ allowUrls: true, urlAllowlist: ["*"] });
    await expect(fetchImage(new URL("http://localhost/x.png"), o)).rejects.toMatchObject({
      status: 403,
      code: "image_url_refused",
    });
  });

  const targets = [
    "http://127.0.0.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/",
    "http://internal.test/",
    "http://meta.test/",
    "http://elsewhere.example/",
  ];
  for (const to of targets) {
    it(`a redirect from an allowed host to ${to}`, async () => {
      const r = await request(`http://img.test/redirect?to=${encodeURIComponent(to)}`, {
        urlAllowlist: ["img.test", "internal.test", "meta.test", "127.0.0.1", "169.254.169.254", "::1"],
      });
      refused(r, "image_url_refused", to.includes("elsewhere") ? /not on this endpoint's allowlist/ : /address/);
      expect(r.dials.length).toBe(1); // only the first, public hop was dialled
    });
  }
});

describe("operator-trusted hosts (--image-url-allow HOST[:PORT])", () => {
  // no hooks: the real resolver and the real dialer reach the loopback server
  async function direct(url: string, extra: VisionOptions) {
    const a = new Hono();
    a.post("/chat", vision(extra), (c) => c.json({ width: c.get("vision").images.get(url)!.width }));
    const res = await a.request("/chat", { method: "POST", body: JSON.stringify(chatWith(url)) });
    return { status: res.status, json: (await res.json()) as any };
  }

  it("a trusted loopback host:port is fetched through the checked dialer; the same host on another port is not", async () => {
    const ok = await direct(`http://127.0.0.1:${port}/img.png`, {
      ...imageUrlOptions({ mode: "allowlist", allow: [`127.0.0.1:${port}`] }),
    });
    expect(ok).toEqual({ status: 200, json: { width: 56 } });
    const byName = await direct(`http://localhost:${port}/img.png`, {
      ...imageUrlOptions({ mode: "public", allow: [`localhost:${port}`] }),
    });
    expect(byName.status).toBe(200);
    const otherPort = await direct(`http://127.0.0.1:${port + 1}/img.png`, {
      ...imageUrlOptions({ mode: "public", allow: [`127.0.0.1:${port}`] }),
    });
    expect(otherPort.status).toBe(403);
    expect(otherPort.json.error.message).toMatch(/port .* is not allowed.*--image-url-allow HOST\[:PORT\]/);
  });

  it("an untrusted private address is refused with the flag that allows it; off refuses every URL", async () => {
    const r = await direct(`http://127.0.0.1/img.png`, imageUrlOptions({ mode: "public", allow: [] }));
    expect(r.status).toBe(403);
    expect(r.json.error.message).toMatch(
      /loopback.*only public addresses are fetched.*--image-url-allow HOST\[:PORT\]/,
    );
    const named = await direct(`http://localhost/img.png`, imageUrlOptions({ mode: "public", allow: [] }));
    expect(named.json.error.message).toMatch(/resolves to a loopback address.*--image-url-allow/);
    const off = await direct(`http://127.0.0.1:${port}/img.png`, imageUrlOptions({ mode: "off", allow: [] }));
    expect([off.status, off.json.error.code]).toEqual([403, "image_url_disabled"]);
    expect(off.json.error.message).toMatch(/--image-urls public/);
    const listed = await direct(`http://img.test/img.png`, imageUrlOptions({ mode: "allowlist", allow: ["other"] }));
    expect(listed.json.error.message).toMatch(/not on this endpoint's allowlist.*--image-url-allow/);
  });

  it("trusted entries match host and port exactly", () => {
    expect(hostTrusted("img.internal", 8080, ["img.internal:8080"], [80, 443])).toBe(true);
    expect(hostTrusted("img.internal", 80, ["img.internal:8080"], [80, 443])).toBe(false);
    expect(hostTrusted("img.internal", 443, ["IMG.internal"], [80, 443])).toBe(true);
    expect(hostTrusted("::1", 9000, ["[::1]:9000"], [80, 443])).toBe(true);
    expect(hostTrusted("a.img.internal", 80, ["img.internal"], [80, 443])).toBe(false);
  });
});

describe("fetch failures and limits", () => {
  it("more than maxRedirects redirects (400)", async () => {
    const r = await request("http://img.test/chain?n=3");
    expect(r.status).toBe(400);
    expect(r.json.error.message).toMatch(/redirected more than 3 times; the limit is 3/);
  });

  it("a Content-Length over the byte cap is refused before reading the body (413)", async () => {
    const r = await request("http://img.test/huge", { maxImageBytes: 1_000_000 });
    expect(r.status).toBe(413);
    expect(r.json.error.message).toMatch(/announced 50,000,000 bytes; the limit is 1,000,000/);
  });

  it("a streamed body over the byte cap is cut off (413)", async () => {
    const r = await request("http://img.test/endless", { maxImageBytes: 100_000 });
    expect(r.status).toBe(413);
    expect(r.json.error.message).toMatch(/sent more than .* bytes; the limit is 100,000/);
  });

  it("a server that never answers hits the deadline (400)", async () => {
    const r = await request("http://img.test/silent", { fetchTimeoutMs: 300 });
    expect(r.status).toBe(400);
    expect(r.json.error.message).toMatch(/did not deliver the image within 300 ms/);
  });

  it("an HTML answer is refused by its Content-Type, an error status by its code, an unknown name as unresolvable", async () => {
    const html = await request("http://img.test/html");
    expect([html.status, html.json.error.code]).toEqual([400, "image_mime"]);
    const missing = await request("http://img.test/nope.png");
    expect(missing.json.error.message).toMatch(/answered HTTP 404/);
    const unknown = await request("http://nowhere.test/x.png");
    expect(unknown.json.error.message).toMatch(/could not be resolved/);
  });
});

describe("address policy table", () => {
  it("parses IPv4/IPv6 forms and refuses non-public ranges", () => {
    expect(Array.from(parseIp("::ffff:1.2.3.4")!)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 1, 2, 3, 4]);
    expect(parseIp("1.2.3")).toBeNull();
    expect(parseIp("fe80::1%eth0")).toBeNull(); // zone ids refused
    expect(parseIp("1::2::3")).toBeNull();
    expect(parseIp("010.1.1.1")).toBeNull(); // octal-looking forms are not guessed at
    for (
      const ok of [
        "93.184.216.34",
        "8.8.8.8",
        "2606:4700::1111",
        "2a00:1450:4001::200e",
        "64:ff9b::808:808",
        "2002:808:808::1",
      ]
    ) {
      expect([ok, refusedAddress(ok)]).toEqual([ok, null]);
    }
    for (
      const bad of [
        "127.0.0.1",
        "127.255.255.254",
        "10.0.0.1",
        "172.16.0.1",
        "192.168.255.255",
        "169.254.169.254",
        "100.127.255.255",
        "0.0.0.0",
        "255.255.255.255",
        "224.0.0.1",
        "198.18.0.1",
        "::",
        "::1",
        "::ffff:8.8.8.8",
        "::7f00:1",
        "fc00::1",
        "fdff::1",
        "fe80::1",
        "febf::1",
        "ff02::1",
        "2001:db8::1",
        "2001::1",
        "2002:7f00:1::",
        "64:ff9b::7f00:1",
        "64:ff9b:1::1",
        "garbage",
      ]
    ) {
      expect([bad, refusedAddress(bad)]).not.toEqual([bad, null]);
    }
  });
});
