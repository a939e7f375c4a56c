// Assembles a running gateway: the link to the runtime, the Hono app with its vision hook, the function
// registry with its admin routes, served by Bun or Deno (whichever runs this). `gust serve`, `gust dev`
// and the Deno entry (edge/main-deno.ts) all start gateways through here.
import type { MiddlewareHandler } from "hono";
import { createFunctionModel, unavailableModel } from "../functions/sdk/function-model.ts";
import { createApp, type GatewayApp } from "./app.ts";
import type { GatewayEnv } from "./env.ts";
import { adminRoutes } from "./functions/admin-routes.ts";
import { functionsHandler } from "./functions/dispatch.ts";
import { FunctionRegistry } from "./functions/registry.ts";
import { vision } from "./middleware/vision.ts";
import type { GatewayOptions } from "./options.ts";
import { RuntimeLink } from "./runtime-client/link.ts";

export interface GatewayConfig {
  /** Runtime address: a socket path, unix:PATH or tcp:HOST:PORT. */
  runtime: string;
  port?: number;
  hostname?: string;
  apiKeys?: string[];
  adminKey?: string | null;
  /** Where deployed function versions are kept. */
  stateDir: string;
  /** Extra gateway options (limits, reasoning defaults). */
  app?: Partial<Omit<GatewayOptions, "model">>;
  log?: (line: string) => void;
}

export interface RunningGateway {
  app: GatewayApp;
  link: RuntimeLink;
  registry: FunctionRegistry;
  url: string;
  stop(): Promise<void>;
}

/** The vision hook built from the connected model's image settings (the runtime says them in hello). */
function visionHook(link: RuntimeLink): MiddlewareHandler<GatewayEnv> {
  let built: { key: string; mw: MiddlewareHandler } | null = null;
  return async (c, next) => {
    const info = link.binding?.info;
    if (!info?.hasVision || !info.image) return next();
    const key = JSON.stringify(info.image);
    if (built?.key !== key)
      built = { key, mw: vision({ imagePatchSize: info.image.patchSize, spatialMergeSize: info.image.spatialMergeSize, maxImageSize: info.image.maxImageSize, maxImages: info.limits.maxImagesPerRequest || 8 }) };
    return built.mw(c as never, next);
  };
}

export async function startGateway(cfg: GatewayConfig): Promise<RunningGateway> {
  const log = cfg.log ?? ((line: string) => console.error(line));
  const link = new RuntimeLink(cfg.runtime, { log });
  await link.start();
  const registry = new FunctionRegistry(cfg.stateDir, log);
  await registry.restore();
  const app = createApp({ ...cfg.app, model: () => link.binding, apiKeys: cfg.apiKeys, vision: visionHook(link) });
  app.route("/", adminRoutes(registry, { adminKey: cfg.adminKey ?? null, allowWithoutKey: app.localOnly }) as never);
  app.mountFunctions(functionsHandler(registry, (c, fn) => {
    const binding = link.binding;
    const reasoning = { effort: fn.definition.reasoning?.effort ?? "none", budgetTokens: fn.definition.reasoning?.budgetTokens ?? null } as const;
    // a function that does not touch the model keeps working while the runtime is away
    const model = binding ? createFunctionModel(binding, reasoning) : unavailableModel(`The model runtime is not connected: ${link.lastError}`);
    return { model, reasoning, requestId: c.get("requestId") as string, vision: c.get("vision") };
  }));
  const deno = (globalThis as { Deno?: unknown }).Deno;
  let url: string, stop: () => Promise<void>;
  if (deno) {
    const { serveDeno } = await import("./deno.ts");
    const ac = new AbortController();
    const addr = await new Promise<{ hostname: string; port: number }>((resolve) => {
      serveDeno(app, { port: cfg.port, hostname: cfg.hostname, signal: ac.signal, onListen: resolve });
    });
    url = `http://${addr.hostname}:${addr.port}`;
    stop = async () => ac.abort();
  } else {
    const { serveBun } = await import("./bun.ts");
    const server = serveBun(app, { port: cfg.port, hostname: cfg.hostname });
    url = `http://${server.hostname}:${server.port}`;
    stop = async () => server.stop(true);
  }
  return {
    app, link, registry, url,
    stop: async () => {
      await stop();
      link.stop();
    },
  };
}
