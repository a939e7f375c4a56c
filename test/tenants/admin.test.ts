// Drive-by deploys are refused on both gateways (`gust serve` on Bun and on Deno): a cross-site text/plain POST, a
// foreign Origin, a DNS-rebinding Host, a missing or wrong admin key; a gateway with no admin key has its admin
// routes off. After all of them, nothing was deployed.
import { request } from "node:http";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminRoutes } from "../../edge/functions/admin-routes.ts";
import { hostName } from "../../edge/functions/admin-guard.ts";
import { FunctionRegistry } from "../../edge/functions/registry.ts";
import { ADMIN_KEY, type FunctionGateway, startFunctionGateway } from "../helpers/function-gateway.ts";
import { freePort } from "../helpers/processes.ts";

const BUNDLE = `export default { fetch: () => new Response("pwned") };`;

/** A raw HTTP request, so the Host header is exactly what a rebinding page's browser would send. */
function rawPost(port: number, path: string, headers: Record<string, string>, body: string) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method: "POST", headers }, (res) => {
      let text = "";
      res.on("data", (d) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode!, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe.each(["bun", "deno"] as const)("admin routes on %s", (kind) => {
  let port = 0;
  let g: FunctionGateway;
  beforeAll(async () => {
    port = await freePort();
    g = await startFunctionGateway(kind, port);
  }, 90_000);
  afterAll(async () => {
    await g?.stop();
  });

  const attempt = (headers: Record<string, string>) =>
    rawPost(port, "/admin/functions/evil", { host: `127.0.0.1:${port}`, ...headers }, BUNDLE);

  it("refuses cross-site, rebinding and keyless deploys with a clear error, and deploys nothing", async () => {
    const cases: Array<[Record<string, string>, number, string]> = [
      // what a web page can send without a CORS preflight
      [{ "content-type": "text/plain", origin: "https://evil.example" }, 403, "cross_site"],
      [{ "content-type": "text/plain", "x-admin-key": ADMIN_KEY }, 415, "unsupported_content_type"],
      [{ "x-admin-key": ADMIN_KEY }, 415, "unsupported_content_type"],
      [
        { "content-type": "application/x-www-form-urlencoded", "x-admin-key": ADMIN_KEY },
        415,
        "unsupported_content_type",
      ],
      [
        { "content-type": "application/javascript", "x-admin-key": ADMIN_KEY, origin: "http://evil.example" },
        403,
        "cross_site",
      ],
      [
        { "content-type": "application/javascript", "x-admin-key": ADMIN_KEY, host: `evil.example:${port}` },
        403,
        "host_not_allowed",
      ],
      [{ "content-type": "application/javascript" }, 401, "missing_admin_key"],
      [{ "content-type": "application/javascript", "x-admin-key": "guessed" }, 401, "invalid_admin_key"],
    ];
    for (const [headers, status, code] of cases) {
      const res = await attempt(headers);
      expect(res.status, JSON.stringify(headers)).toBe(status);
      expect(JSON.parse(res.body).error.code).toBe(code);
    }
    expect((await fetch(`${g.base}/fn/evil/`)).status).toBe(404);
    const list = await fetch(`${g.base}/admin/functions`, { headers: { "x-admin-key": ADMIN_KEY } });
    expect((await list.json()).functions).toEqual([]);
  });

  it("accepts the gateway's own origin and loopback names with the key", async () => {
    const own = await attempt({
      "content-type": "application/javascript",
      "x-admin-key": ADMIN_KEY,
      origin: `http://localhost:${port}`,
      host: `localhost:${port}`,
    });
    expect(own.status, own.body).toBe(200);
    expect(await (await fetch(`${g.base}/fn/evil/`)).text()).toBe("pwned");
  });
});

describe("admin routes without an admin key", () => {
  it("are off (403 naming GUST_ADMIN_KEY), even on loopback", async () => {
    const registry = new FunctionRegistry(mkdtempSync(join(tmpdir(), "gust-nokey-")));
    const app = new Hono().route("/", adminRoutes(registry, { adminKey: null, loopback: true }));
    const res = await app.request("http://127.0.0.1/admin/functions/x", {
      method: "POST",
      body: BUNDLE,
      headers: { "content-type": "application/javascript" },
    });
    expect(res.status).toBe(403);
    expect((await res.json()).error.message).toContain("GUST_ADMIN_KEY");
    expect(registry.list()).toEqual([]);
  });

  it("reads host names with and without ports", () => {
    expect(["127.0.0.1:8080", "LOCALHOST", "[::1]:80", "evil.example:8080"].map(hostName)).toEqual([
      "127.0.0.1",
      "localhost",
      "[::1]",
      "evil.example",
    ]);
  });
});
