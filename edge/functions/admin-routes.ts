// Admin routes for deploys: POST /admin/functions/:name (body: the bundled module), POST
// /admin/functions/:name/rollback, GET /admin/functions. Never keyless: they need the admin key in `x-admin-key`
// (constant-time comparison; `Authorization` stays free for the API key the gateway may also require), and with
// none configured they are off (`gust dev` makes one at start). Cross-site and DNS-rebinding requests are refused
// before the key is read (admin-guard.ts).
import { Hono } from "hono";
import { secretMatches } from "../middleware/auth.ts";
import { adminGuard } from "./admin-guard.ts";
import { DeployError, type FunctionRegistry } from "./registry.ts";

export interface AdminOptions {
  /** The key admin requests must send in x-admin-key; null = admin routes are off (403). */
  adminKey: string | null;
  /** The gateway listens on loopback only: admin requests must then name a loopback Host. */
  loopback: boolean;
  /** Largest bundle accepted. */
  maxBundleBytes?: number;
}

const err = (message: string, code: string) => ({
  error: { message, type: "invalid_request_error", param: null, code },
});

export function adminRoutes(registry: FunctionRegistry, o: AdminOptions): Hono {
  const app = new Hono();
  app.use("/admin/*", adminGuard(o.loopback));
  app.use("/admin/*", async (c, next) => {
    if (o.adminKey === null) {
      return c.json(
        err("Admin routes are off: start the gateway with GUST_ADMIN_KEY (or --admin-key) set", "admin_disabled"),
        403,
      );
    }
    const given = c.req.header("x-admin-key");
    if (given === undefined) {
      return c.json(err("Admin routes need the admin key in the x-admin-key header", "missing_admin_key"), 401);
    }
    if (!(await secretMatches(given, [o.adminKey]))) {
      return c.json(err("Invalid admin key", "invalid_admin_key"), 401);
    }
    await next();
  });
  app.get("/admin/functions", (c) => c.json({ functions: registry.list() }));
  app.post("/admin/functions/:name", async (c) => {
    const bundle = await c.req.text();
    const limit = o.maxBundleBytes ?? 20 << 20;
    if (bundle.length > limit) {
      return c.json(err(`The bundle is ${bundle.length} bytes; the limit is ${limit}`, "bundle_too_large"), 413);
    }
    try {
      const f = await registry.deploy(c.req.param("name"), bundle);
      return c.json({ name: f.name, version: f.version, url: `/fn/${f.name}/` });
    } catch (e) {
      if (e instanceof DeployError) return c.json(err(e.message, "deploy_failed"), e.status as 400);
      throw e;
    }
  });
  app.post("/admin/functions/:name/rollback", async (c) => {
    try {
      const f = await registry.rollback(c.req.param("name"));
      return c.json({ name: f.name, version: f.version });
    } catch (e) {
      if (e instanceof DeployError) return c.json(err(e.message, "rollback_failed"), e.status as 400);
      throw e;
    }
  });
  return app;
}
