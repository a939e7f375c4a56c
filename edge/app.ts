/**
 * The gateway: one Hono app for Bun and Deno.
 *
 * Middleware order (each its own file and factory in ./middleware):
 *   every request:   requestId → observe (metrics, end-of-body hooks) → apiKeyAuth → bodyLimit
 *   model routes:    requireModel → concurrency → deadline → reasoning → vision hook → route
 *   /fn/<name>/*:    function slot: its own concurrency gate, body limit and deadline (functions-mount.ts) → registry
 *   errors:          one onError (errorHandler) → OpenAI-shaped bodies
 *
 * Routes: POST /v1/chat/completions, POST /mistral/v1/chat/completions, POST /v1/responses (OpenAI Responses),
 * POST /v1/messages and /v1/messages/count_tokens (Anthropic, errors in its shape), GET /v1/models,
 * GET /mistral/v1/models, GET|HEAD / (a probe Claude Code sends), GET /health, GET /ready, GET /metrics,
 * ANY /fn/<name>/*; the playground page: GET / (also the probe) and /playground/{app.js,style.css}.
 */
import { Hono } from "hono";
import type { MiddlewareHandler } from "hono";
import { MISTRAL_CHAT_PATH, mistralChat } from "../functions/builtin/mistral-chat.ts";
import { mistralModels, openAIModels } from "../functions/builtin/models.ts";
import { OPENAI_CHAT_PATH, openAIChat } from "../functions/builtin/openai-chat.ts";
import type { ChatRouteOptions } from "../functions/builtin/openai-chat.ts";
import { health, metricsRoute, ready } from "./ops-routes.ts";
import {
  COUNT_TOKENS_PATH,
  countTokensRoute,
  MESSAGES_PATH,
  messagesRoute,
} from "../functions/builtin/messages/route.ts";
import { RESPONSES_PATH, responsesRoute } from "../functions/builtin/responses/route.ts";
import { ResponseStore } from "../functions/builtin/responses/store.ts";
import { anthropicErrors } from "./middleware/anthropic-errors.ts";
import { PLAYGROUND_PATHS, playgroundRoutes } from "./playground-routes.ts";
import type { GatewayEnv } from "../functions/http/env.ts";
import { errorResponse, HttpError } from "../functions/http/errors.ts";
import { FunctionSlot } from "./functions-mount.ts";
import { GatewayMetrics } from "./metrics/gateway-metrics.ts";
import { LoopLagMonitor } from "./metrics/loop-lag.ts";
import { apiKeyAuth } from "./middleware/auth.ts";
import { bodyLimit } from "./middleware/body-limit.ts";
import { concurrency, Limiter } from "./middleware/concurrency.ts";
import { deadline } from "./middleware/deadline.ts";
import { errorHandler } from "./middleware/error-handler.ts";
import { observe } from "./middleware/observe.ts";
import { reasoning } from "../functions/middleware/reasoning.ts";
import { requestId } from "./middleware/request-id.ts";
import { requireModel } from "./middleware/require-model.ts";
import type { FunctionsHandler, GatewayOptions, ResolvedGatewayOptions } from "./options.ts";
import { resolveOptions } from "./options.ts";

export interface GatewayApp extends Hono<GatewayEnv> {
  /** No API key is configured: the server entry must bind to loopback only (serveBun/serveDeno enforce it). */
  readonly localOnly: boolean;
  readonly metrics: GatewayMetrics;
  /** The event-loop stall monitor: requests mark it here; the runtime link marks it when frames arrive. */
  readonly loopLag: LoopLagMonitor;
  readonly limiter: Limiter;
  readonly gatewayOptions: ResolvedGatewayOptions;
  /** Install or replace the function registry's handler for /fn/<name>/* (null unmounts). */
  mountFunctions(handler: FunctionsHandler | null): void;
}

const passThrough: MiddlewareHandler<GatewayEnv> = (_c, next) => next();

export function createApp(options: GatewayOptions): GatewayApp {
  const o = resolveOptions(options);
  const { clock, limits } = o;
  const metrics = new GatewayMetrics();
  const limiter = new Limiter({ ...limits, clock });
  const slot = new FunctionSlot(o.functions, limits, clock);
  // built-in routes and functions hold slots of their own; the gauges count both
  metrics.inFlight.collect = () => limiter.running + slot.gates.running;
  metrics.queued.collect = () => limiter.waiting + slot.gates.waiting;
  const loopLag = new LoopLagMonitor(metrics.loopLag, clock);
  metrics.loopLagMax.collect = () => loopLag.maxMs / 1000;

  const app = new Hono<GatewayEnv>();
  app.use("*", requestId());
  app.use(`${MESSAGES_PATH}/*`, anthropicErrors());
  app.use(MESSAGES_PATH, anthropicErrors());
  const knownPaths = new Set([
    OPENAI_CHAT_PATH,
    MISTRAL_CHAT_PATH,
    RESPONSES_PATH,
    MESSAGES_PATH,
    COUNT_TOKENS_PATH,
    "/v1/models",
    "/mistral/v1/models",
    "/health",
    "/ready",
    "/metrics",
    ...PLAYGROUND_PATHS,
  ]);
  app.use("*", observe({ metrics, clock, knownPaths, loop: loopLag }));
  app.use(
    "*",
    apiKeyAuth({
      keys: o.apiKeys,
      functionKeys: o.functionKeys,
      publicPaths: ["/health", "/ready", ...PLAYGROUND_PATHS],
    }),
  );
  app.use("*", bodyLimit({ maxBytes: limits.maxBodyBytes }));

  const model = requireModel(o.binding);
  const slots = concurrency(limiter);
  const timeout = deadline({ timeoutMs: limits.requestTimeoutMs, clock });
  const vision = o.vision ?? passThrough;
  const chat: ChatRouteOptions = {
    limits: {
      defaultMaxTokens: limits.defaultMaxTokens,
      defaultTemperature: limits.defaultTemperature,
      maxMaxTokens: limits.maxMaxTokens,
      maxN: limits.maxN,
      modelAliases: o.modelAliases,
      toolCallSchemas: limits.toolCallSchemas,
    },
    respond: { clock, keepAliveMs: o.keepAliveMs, logError: o.logError },
  };
  const chatReasoning = (mistral: boolean) => reasoning({ ...o.reasoning, mistral, readBody: "always" });

  app.post(OPENAI_CHAT_PATH, model, slots, timeout, chatReasoning(false), vision, openAIChat(chat));
  app.post(MISTRAL_CHAT_PATH, model, slots, timeout, chatReasoning(true), vision, mistralChat(chat));
  const responses = responsesRoute({ ...chat, store: new ResponseStore() });
  app.post(RESPONSES_PATH, model, slots, timeout, chatReasoning(false), vision, responses);
  const messages = { ...chat, reasoning: o.reasoning };
  app.post(MESSAGES_PATH, model, slots, timeout, vision, messagesRoute(messages));
  app.post(COUNT_TOKENS_PATH, model, vision, countTokensRoute(messages));
  playgroundRoutes(app); // GET / is the page; it answers Claude Code's HEAD / probe too
  const created = Math.floor(clock.now() / 1000);
  app.get("/v1/models", model, openAIModels({ aliases: o.modelAliases, created }));
  app.get("/mistral/v1/models", model, mistralModels({ aliases: o.modelAliases, created }));
  app.get("/health", health());
  app.get("/ready", ready(o.binding));
  app.get("/metrics", metricsRoute({ binding: o.binding, metrics, clock, statsTimeoutMs: 2000 }));
  app.all("/fn/*", slot.route());
  app.all("/fn", () => {
    throw new HttpError(400, "invalid_function_name", "no function name: call /fn/<name>/...", "name");
  });

  app.notFound((c) =>
    errorResponse(
      new HttpError(
        404,
        "not_found",
        `no route for ${c.req.method} ${c.req.path}; the gateway serves POST /v1/chat/completions, POST /mistral/v1/chat/completions, POST /v1/responses, POST /v1/messages, GET /v1/models, /health, /ready, /metrics, /fn/<name>/* and the playground page at /`,
      ),
    )
  );
  app.onError(errorHandler(o.logError));

  return Object.assign(app, {
    localOnly: o.apiKeys.length === 0,
    metrics,
    loopLag,
    limiter,
    gatewayOptions: o,
    mountFunctions: (handler: FunctionsHandler | null) => slot.mount(handler),
  });
}
