// The playground page's routes: `/` and its two assets are served without an API key (the page holds no secret),
// with a content security policy that keeps the page on this origin; every API stays behind the key.
import { describe, expect, it } from "vitest";
import { PLAYGROUND_PATHS } from "../../edge/playground-routes.ts";
import { testGateway } from "../helpers/gateway.ts";

describe("playground routes", () => {
  const g = testGateway({ apiKeys: ["k1"] });

  it("serves the page and its assets keyless, with their types and a same-origin policy", async () => {
    const types: Record<string, RegExp> = {
      "/": /^text\/html/,
      "/playground/app.js": /^text\/javascript/,
      "/playground/style.css": /^text\/css/,
    };
    expect(PLAYGROUND_PATHS.sort()).toEqual(Object.keys(types).sort());
    for (const [path, type] of Object.entries(types)) {
      const res = await g.app.request(path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get("content-type")).toMatch(type);
      expect(res.headers.get("content-security-policy")).toContain("connect-src 'self'");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    }
    const html = await (await g.app.request("/")).text();
    expect(html).toContain('src="/playground/app.js"');
    expect(html).toContain('href="/playground/style.css"');
    // the bundle is what `npm run build` made from edge/playground/src
    expect(await (await g.app.request("/playground/app.js")).text()).toContain("/v1/chat/completions");
  });

  it("adds no other route: other asset paths are 404, and the APIs still need the key", async () => {
    const open = testGateway(); // keyless: an unknown path is a 404, not a 401
    for (const path of ["/playground/", "/playground/src/main.ts", "/playground/dist/app.js", "/index.html"]) {
      expect((await open.app.request(path)).status, path).toBe(404);
    }
    expect((await g.app.request("/v1/models")).status).toBe(401);
    expect((await g.app.request("/metrics")).status).toBe(401);
    expect((await g.app.request("/", { method: "POST" })).status).toBe(404); // the page is GET only
  });
});
