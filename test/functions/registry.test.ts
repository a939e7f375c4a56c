// Deploys through the admin routes into a real registry on disk: versions, atomic swaps with a request
// in flight, rollback, rejected bundles that leave the old version serving, and name checks.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hono } from "hono";
import { afterAll, describe, expect, it } from "vitest";
import { adminRoutes } from "../../edge/functions/admin-routes.ts";
import { bundleFunction } from "../../edge/functions/bundle.ts";
import { functionsHandler } from "../../edge/functions/dispatch.ts";
import { FunctionRegistry } from "../../edge/functions/registry.ts";
import type { FunctionBindings } from "../../functions/sdk/types.ts";

const stateDir = mkdtempSync(join(tmpdir(), "gust-fn-"));
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

const registry = new FunctionRegistry(stateDir);
const gate = { release: () => {} };
const app = new Hono();
app.route("/", adminRoutes(registry, { adminKey: "s3cret", loopback: false }));
const handler = functionsHandler(
  registry,
  () => ({ requestId: "t", reasoning: { effort: "none", budgetTokens: null }, gate } as unknown as FunctionBindings),
);
// the gateway's router checks names before calling the handler (tested in test/http); here a bare route
app.all(
  "/fn/:name/*",
  async (c) =>
    (await handler(c as never, c.req.param("name"))) ?? c.json({ error: { code: "function_not_found" } }, 404),
);
app.all(
  "/fn/:name",
  async (c) =>
    (await handler(c as never, c.req.param("name"))) ?? c.json({ error: { code: "function_not_found" } }, 404),
);

// A function's source as a user writes it; `version` makes each deploy distinguishable, and GET /slow
// waits on c.env.gate so a test can hold a request in flight across a deploy.
const source = (version: string) => `
  import { Hono } from "hono";
  const app = new Hono();
  app.get("/hello", (c) => c.json({ version: "${version}", path: new URL(c.req.url).pathname }));
  app.get("/slow", async (c) => { await new Promise((r) => (c.env.gate.release = r)); return c.json({ version: "${version}" }); });
  export default app;`;

const JS = { "content-type": "application/javascript" };

async function deploy(name: string, code: string, key = "s3cret") {
  return app.request(`/admin/functions/${name}`, {
    method: "POST",
    body: code,
    headers: { "x-admin-key": key, ...JS },
  });
}

describe("function registry", () => {
  it("deploys, serves, swaps atomically with a request in flight, and rolls back", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gust-src-"));
    const { writeFileSync } = await import("node:fs");
    writeFileSync(join(dir, "f.ts"), source("one"));
    const first = await deploy("hello", await bundleFunction(join(dir, "f.ts")));
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ name: "hello", version: 1 });
    expect(await (await app.request("/fn/hello/hello")).json()).toEqual({ version: "one", path: "/hello" });

    const inFlight = app.request("/fn/hello/slow");
    await new Promise((r) => setTimeout(r, 10));
    writeFileSync(join(dir, "f.ts"), source("two"));
    expect((await deploy("hello", await bundleFunction(join(dir, "f.ts")))).status).toBe(200);
    expect(await (await app.request("/fn/hello/hello")).json()).toMatchObject({ version: "two" });
    gate.release();
    expect(await (await inFlight).json()).toEqual({ version: "one" }); // finished on the old version

    const back = await app.request("/admin/functions/hello/rollback", {
      method: "POST",
      headers: { "x-admin-key": "s3cret", ...JS },
    });
    expect(await back.json()).toMatchObject({ version: 1 });
    expect(await (await app.request("/fn/hello/hello")).json()).toMatchObject({ version: "one" });
    const list = await (await app.request("/admin/functions", { headers: { "x-admin-key": "s3cret" } })).json();
    expect(list.functions[0]).toMatchObject({ name: "hello", version: 1, versions: [1, 2] });
    rmSync(dir, { recursive: true, force: true });
  });

  it("rejects a bundle that fails to load and keeps the old version serving", async () => {
    expect((await deploy("keep", "export default { fetch: () => new Response('v1') };")).status).toBe(200);
    const broken = await deploy("keep", "export default {{ syntax error");
    expect(broken.status).toBe(400);
    expect((await broken.json()).error.message).toMatch(/keep v2 failed to load/);
    const wrong = await deploy("keep", "export const notDefault = 1;");
    expect((await wrong.json()).error.message).toMatch(/default export must be a Hono app or defineFunction/);
    const throwing = await deploy("keep", "throw new Error('boom at import');");
    expect((await throwing.json()).error.message).toMatch(/boom at import/);
    expect(await (await app.request("/fn/keep/")).text()).toBe("v1");
  });

  it("checks names, keys and unknown functions", async () => {
    expect((await deploy("ok", "export default { fetch: () => new Response('x') };", "wrong")).status).toBe(401);
    expect((await deploy("bad.name", "export default 1")).status).toBe(400);
    expect((await deploy("..%2Fescape", "export default 1")).status).toBe(400);
    const missing = await app.request("/fn/nobody/x");
    expect(missing.status).toBe(404);
    const noRollback = await app.request("/admin/functions/nobody/rollback", {
      method: "POST",
      headers: { "x-admin-key": "s3cret", ...JS },
    });
    expect(noRollback.status).toBe(404);
  });

  it("restores the active versions from disk after a gateway restart", async () => {
    const fresh = new FunctionRegistry(stateDir);
    await fresh.restore();
    expect(fresh.get("hello")?.version).toBe(1);
    expect(fresh.get("keep")?.version).toBe(1);
  });
});

describe("admin routes behind API keys", () => {
  it("a deploy needs the API key in Authorization and the admin key in x-admin-key", async () => {
    const { startGateway } = await import("../../edge/gateway.ts");
    const { serveOnBun } = await import("../../edge/bun.ts");
    const gw = await startGateway({
      runtime: "/nonexistent/gust.sock",
      port: 0,
      apiKeys: ["api-key-1"],
      adminKey: "admin-key-1",
      stateDir: mkdtempSync(join(tmpdir(), "gust-adm-")),
      log: () => {},
    }, serveOnBun);
    try {
      const bundle = "export default { fetch: () => new Response('hi') };";
      const send = (headers: Record<string, string>) =>
        gw.app.request("/admin/functions/hi", { method: "POST", body: bundle, headers: { ...headers, ...JS } });
      expect((await send({ "x-admin-key": "admin-key-1" })).status).toBe(401); // no API key
      expect((await send({ authorization: "Bearer api-key-1" })).status).toBe(401); // no admin key
      expect((await send({ authorization: "Bearer api-key-1", "x-admin-key": "wrong" })).status).toBe(401);
      expect((await send({ authorization: "Bearer api-key-1", "x-admin-key": "admin-key-1" })).status).toBe(200);
      expect(await (await gw.app.request("/fn/hi/", { headers: { authorization: "Bearer api-key-1" } })).text()).toBe(
        "hi",
      );
    } finally {
      await gw.stop();
    }
  });
});
