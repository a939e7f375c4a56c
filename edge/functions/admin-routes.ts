// Admin routes for deploys: POST /admin/functions/:name (body: the bundled module), POST
// /admin/functions/:name/rollback, GET /admin/functions. Guarded by the admin key in `x-admin-key`
// (constant-time comparison; `Authorization` stays free for the API key the gateway may also require);
// with no admin key configured they answer only when the gateway is bound to loopback.
import { Hono } from "hono";
import { secretMatches } from "../middleware/auth.ts";
import { DeployError, type FunctionRegistry } from "./registry.ts";

export interface AdminOptions {
  /** Required bearer key; null = no key (then `allowWithoutKey` must be true for the routes to work). */
  adminKey: string | null;
  allowWithoutKey: boolean;
  /** Largest bundle accepted. */
  maxBundleBytes?: number;
}

const err = (message: string, code: string) => ({
  error: { message, type: "invalid_request_error", param: null, code },
});

export function adminRoutes(registry: FunctionRegistry, o: AdminOptions): Hono {
  const app = new Hono();
  app.use("/admin/*", async (c, next) => {
    if (o.adminKey === null) {
      if (!o.allowWithoutKey) {
        return c.json(
          err("Admin routes are disabled: set GUST_ADMIN_KEY (or --admin-key) on the gateway", "admin_disabled"),
          403,
        );
      }
    } else {
      const given = c.req.header("x-admin-key");
      if (given === undefined) {
        return c.json(err("Admin routes need the admin key in the x-admin-key header", "missing_admin_key"), 401);
      }
      if (!(await secretMatches(given, [o.adminKey]))) {
        return c.json(err("Invalid admin key", "invalid_admin_key"), 401);
      }
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
