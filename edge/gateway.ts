// Assembles a running gateway: the link to the runtime, the Hono app with its vision hook, the function
// registry with its admin routes, served by the server function the entry point passes (serveBun in
// `gust serve`/`gust dev`, serveDeno in edge/main-deno.ts), so this file loads on either runtime.
import type { MiddlewareHandler } from "hono";
import { createFunctionModel, unavailableModel } from "../functions/sdk/function-model.ts";
import { createApp, type GatewayApp } from "./app.ts";
import type { GatewayEnv } from "../functions/http/env.ts";
import { adminRoutes } from "./functions/admin-routes.ts";
import { functionsHandler } from "./functions/dispatch.ts";
import { FunctionRegistry } from "./functions/registry.ts";
import { isolateLoader } from "./isolate/loader.ts";
import { resolve } from "node:path";
import { joinPath } from "../runtime/text/io.ts";
import type { LoopMarker } from "./metrics/loop-lag.ts";
import { vision } from "./middleware/vision.ts";
import { functionImagePreparer } from "./vision/function-images.ts";
import { closeSharedRenderPools } from "./vision/render-pool.ts";
import { DEFAULT_IMAGE_URLS, imageUrlOptions, type ImageUrlSettings } from "./vision/url-settings.ts";
import type { GatewayOptions } from "./options.ts";
import type { ToolCallSchemas } from "../functions/chat/constraints.ts";
import { RuntimePool } from "./runtime-pool/pool.ts";
import type { RoutingMode } from "./runtime-pool/routing.ts";
import { isLoopback, listenHostname } from "./serve-options.ts";

export interface GatewayConfig {
  /** Runtime address (a socket path, unix:PATH or tcp:HOST:PORT), or several: a pool routed by prefix and load. */
  runtime: string | readonly string[];
  /** How the pool picks a runtime (edge/runtime-pool/routing.ts). Default "prefix". */
  routing?: RoutingMode;
  /** Shared secret for runtimes beyond loopback (their --auth-token-file). */
  runtimeAuthToken?: string;
  port?: number;
  hostname?: string;
  apiKeys?: string[];
  adminKey?: string | null;
  /** Where deployed function versions are kept. */
  stateDir: string;
  /** Longest a deployed bundle's import may take (edge/functions/registry.ts). Default 30 000 ms. */
  importTimeoutMs?: number;
  /** The runtime counts as down after this long without answering the heartbeat (edge/runtime-client/link.ts). */
  heartbeatMs?: number;
  /** Function isolates' limits (edge/isolate/isolate.ts): memory, event-loop stall, wall time per request, and
   * whether allowHosts may name local addresses. */
  isolates?: { memoryMiB?: number; stallMs?: number; wallMs?: number; allowLocalHosts?: boolean };
  /** Extra gateway options (limits, reasoning defaults). */
  app?: Partial<Omit<GatewayOptions, "model">>;
  log?: (line: string) => void;
  /** More names the model answers to (--served-model-name), beside the runtime's. */
  servedModelNames?: string[];
  /** Which image URLs are fetched (--image-urls, --image-url-allow). Default: public hosts. */
  imageUrls?: ImageUrlSettings;
  /** temperature for requests that give none (--default-temperature); absent: the runtime's. */
  defaultTemperature?: number;
  /** Whose schemas hold tool-call arguments under tool_choice "auto" (--tool-call-schemas); absent: "all". */
  toolCallSchemas?: ToolCallSchemas;
}

/** Starts serving `app`; returns its URL and a stop function (see serveOnBun in ./bun.ts, serveOnDeno in ./deno.ts). */
export type ServeFn = (
  app: GatewayApp,
  port: number | undefined,
  hostname: string | undefined,
) => Promise<{ url: string; stop: () => Promise<void> }>;

export interface RunningGateway {
  app: GatewayApp;
  link: RuntimePool;
  registry: FunctionRegistry;
  url: string;
  stop(): Promise<void>;
}

/** The vision hook built from the connected model's image settings (the runtime says them in hello). */
function visionHook(link: RuntimePool, urls: ImageUrlSettings): MiddlewareHandler<GatewayEnv> {
  let built: { key: string; mw: MiddlewareHandler } | null = null;
  return async (c, next) => {
    const info = link.binding?.info;
    if (!info?.hasVision || !info.image) return next();
    const key = JSON.stringify(info.image);
    if (built?.key !== key) {
      built = {
        key,
        mw: vision({
          imagePatchSize: info.image.patchSize,
          spatialMergeSize: info.image.spatialMergeSize,
          maxImageSize: info.image.maxImageSize,
          maxImages: info.limits.maxImagesPerRequest || 8,
          ...imageUrlOptions(urls),
        }),
      };
    }
    return built.mw(c as never, next);
  };
}

export async function startGateway(cfg: GatewayConfig, serve: ServeFn): Promise<RunningGateway> {
  const log = cfg.log ?? ((line: string) => console.error(line));
  // frames from the runtime mark the app's stall monitor, which exists once the app does
  let loop: LoopMarker | null = null;
  const link = new RuntimePool(typeof cfg.runtime === "string" ? [cfg.runtime] : cfg.runtime, {
    log,
    onData: () => loop?.mark(),
    routing: cfg.routing,
    authToken: cfg.runtimeAuthToken,
    heartbeatMs: cfg.heartbeatMs,
  });
  await link.start();
  // each function version in an isolate of its own (edge/isolate/); Deno's cache for them beside the versions
  const loader = isolateLoader({ cacheDir: joinPath(resolve(cfg.stateDir), ".deno-cache"), log, ...cfg.isolates });
  const registry = new FunctionRegistry(cfg.stateDir, log, { importTimeoutMs: cfg.importTimeoutMs, loader });
  await registry.restore();
  const app = createApp({
    ...cfg.app,
    limits: {
      ...cfg.app?.limits,
      ...(cfg.defaultTemperature !== undefined ? { defaultTemperature: cfg.defaultTemperature } : {}),
      ...(cfg.toolCallSchemas !== undefined ? { toolCallSchemas: cfg.toolCallSchemas } : {}),
    },
    binding: Object.assign(() => link.binding, { why: () => link.lastError }),
    apiKeys: cfg.apiKeys,
    vision: visionHook(link, cfg.imageUrls ?? DEFAULT_IMAGE_URLS),
    modelAliases: [...(cfg.app?.modelAliases ?? []), ...(cfg.servedModelNames ?? [])],
  });
  loop = app.loopLag;
  for (const family of link.metrics.families) app.metrics.registry.register(family);
  const loopback = isLoopback(listenHostname(app.localOnly, cfg.hostname));
  app.route("/", adminRoutes(registry, { adminKey: cfg.adminKey ?? null, loopback }) as never);
  const { defaultMaxTokens, defaultTemperature, maxMaxTokens, maxN, toolCallSchemas } = app.gatewayOptions.limits;
  const limits = {
    defaultMaxTokens,
    defaultTemperature,
    maxMaxTokens,
    maxN,
    modelAliases: app.gatewayOptions.modelAliases,
    toolCallSchemas,
  };
  const prepareImages = functionImagePreparer(() => link.binding!.info);
  app.mountFunctions(functionsHandler(registry, (c, fn) => {
    const binding = link.binding;
    const reasoning = {
      effort: fn.definition.reasoning?.effort ?? "none",
      budgetTokens: fn.definition.reasoning?.budgetTokens ?? null,
    } as const;
    // a function that does not touch the model keeps working while the runtime is away
    const model = binding
      ? createFunctionModel(binding, reasoning, { limits, prepareImages })
      : unavailableModel(`The model runtime is not connected: ${link.lastError}`);
    return { model, reasoning, requestId: c.get("requestId") as string };
  }));
  const { url, stop } = await serve(app, cfg.port, cfg.hostname);
  return {
    app,
    link,
    registry,
    url,
    stop: async () => {
      app.loopLag.stop();
      await stop();
      registry.close();
      closeSharedRenderPools();
      link.stop();
    },
  };
}
