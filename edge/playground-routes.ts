// The playground page at `/` and its two static assets. The page only calls the gateway's public APIs (chat, models,
// /ready, /metrics, /fn/<name>/, the admin listing with the admin key the person types in); it holds no secret, so
// these paths need no API key. The script is bundled by `npm run build` (edge/playground/build.mjs).
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Hono } from "hono";
import type { GatewayEnv } from "../functions/http/env.ts";
import { bodyInMemory } from "../functions/http/lifecycle.ts";
import { errorResponse, HttpError } from "../functions/http/errors.ts";

const dir = join(dirname(fileURLToPath(import.meta.url)), "playground");

const ASSETS: Record<string, { file: string; type: string }> = {
  "/": { file: join(dir, "index.html"), type: "text/html; charset=utf-8" },
  "/playground/app.js": { file: join(dir, "dist", "app.js"), type: "text/javascript; charset=utf-8" },
  "/playground/style.css": { file: join(dir, "style.css"), type: "text/css; charset=utf-8" },
};

/** The paths the playground serves (public, and labelled by path in the request metrics). */
export const PLAYGROUND_PATHS = Object.keys(ASSETS);

// the page talks to this origin only; images are data: URLs the person pastes in
const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; " +
    "form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
  "x-content-type-options": "nosniff",
  "cache-control": "no-cache",
};

export function playgroundRoutes(app: Hono<GatewayEnv>): void {
  for (const [path, asset] of Object.entries(ASSETS)) {
    app.get(path, (c) => {
      c.set("routeLabel", path);
      if (!existsSync(asset.file)) {
        return errorResponse(
          new HttpError(
            503,
            "playground_not_built",
            `the playground page is not built (${asset.file} is missing): run \`npm run build\``,
          ),
        );
      }
      return bodyInMemory(c.body(readFileSync(asset.file), 200, { "content-type": asset.type, ...SECURITY_HEADERS }));
    });
  }
}
