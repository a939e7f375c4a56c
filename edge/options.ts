/** Operator configuration of the gateway (createApp's options) with defaults, checks and environment fallbacks. */
import type { MiddlewareHandler } from "hono";
import type { Clock } from "../functions/http/clock.ts";
import { systemClock } from "../functions/http/clock.ts";
import type { GatewayContext, GatewayEnv } from "../functions/http/env.ts";
import type { ReasoningOptions } from "../functions/middleware/reasoning.ts";
import { TOOL_CALL_SCHEMAS, type ToolCallSchemas } from "../functions/chat/constraints.ts";
import type { ModelBinding } from "../functions/sdk/binding.ts";
import type { ErrorLogger } from "./middleware/error-handler.ts";
import { consoleErrorLogger } from "./middleware/error-handler.ts";

/** A function's declared limits (FunctionLimits in functions/sdk), each capped by the gateway's own. */
export interface FunctionLimitsLike {
  timeoutMs?: number;
  maxConcurrency?: number;
  maxBodyBytes?: number;
}

/** Answers requests under /fn/<name>/ (the function registry). `name` has been checked against FUNCTION_NAME_RE.
 * Return null (or undefined) when no such function is deployed: the gateway answers 404. `limitsOf` (optional)
 * gives a function's limits before it is called, or null when there is no such function. */
export type FunctionsHandler =
  & ((c: GatewayContext, name: string) => Response | null | undefined | Promise<Response | null | undefined>)
  & { limitsOf?: (name: string) => FunctionLimitsLike | null };

export interface GatewayLimits {
  /** Largest request body. Default 32 MiB (a few base64 images fit). */
  maxBodyBytes?: number;
  /** Requests running at once on model routes and /fn/*. Default 64. */
  maxConcurrent?: number;
  /** Requests waiting for a slot; beyond it 429. Default 256. */
  maxQueue?: number;
  /** Longest wait for a slot; beyond it 429. Default 60 000 ms. */
  maxQueueWaitMs?: number;
  /** Retry-After on 429s. Default 1 s. */
  retryAfterSeconds?: number;
  /** Deadline of a model request, streaming included. Default 600 000 ms (10 min). */
  requestTimeoutMs?: number;
  /** max_tokens when a request gives none; null = what the context leaves. Default null. */
  /** temperature when a request gives none (vLLM's generation-config defaults); null = the runtime's (1). Default
   * null. Agents that send no temperature (Codex, Claude Code) get this one. */
  defaultTemperature?: number | null;
  defaultMaxTokens?: number | null;
  /** Largest max_tokens a request may ask for; null = the context decides. Default null. */
  maxMaxTokens?: number | null;
  /** Largest n. Default 8. */
  maxN?: number;
  /** Whose parameter schemas hold tool-call arguments under tool_choice "auto": "all" tools (default, as
   * llama.cpp) or only "strict" ones (OpenAI's rule). */
  toolCallSchemas?: ToolCallSchemas;
}

export interface GatewayOptions {
  /** The runtime binding, or null/undefined while no runtime is connected (model routes then answer 503). */
  binding: () => ModelBinding | null | undefined;
  /** API keys; default: GUST_API_KEYS from the environment (comma-separated). None → the gateway is local-only. */
  apiKeys?: readonly string[];
  /** Extra keys per function name, valid only under /fn/<name>/. */
  functionKeys?: Readonly<Record<string, readonly string[]>>;
  limits?: GatewayLimits;
  /** Reasoning budget defaults and caps for the built-in chat routes (see functions/middleware/reasoning.ts). */
  reasoning?: Omit<ReasoningOptions, "mistral" | "readBody">;
  /** SSE keep-alive period; also how long a stream waits for its first token before opening. Default 5000 ms. */
  keepAliveMs?: number;
  /** The vision hook: image preprocessing for the chat routes (edge/middleware/vision.ts). Default: none. */
  vision?: MiddlewareHandler<GatewayEnv>;
  /** The function registry's handler for /fn/<name>/*; also settable later with `app.mountFunctions()`. */
  functions?: FunctionsHandler;
  /** Other names the model answers to in `model`. */
  modelAliases?: readonly string[];
  clock?: Clock;
  /** Where 500s are logged. Default console.error. */
  logError?: ErrorLogger;
  /** Environment lookup (tests); default Deno.env / process.env. */
  env?: (name: string) => string | undefined;
}

export interface ResolvedGatewayOptions {
  binding: () => ModelBinding | null | undefined;
  apiKeys: string[];
  functionKeys: Record<string, readonly string[]>;
  limits: Required<GatewayLimits>;
  reasoning: Omit<ReasoningOptions, "mistral" | "readBody">;
  keepAliveMs: number;
  vision: MiddlewareHandler<GatewayEnv> | null;
  functions: FunctionsHandler | null;
  modelAliases: string[];
  clock: Clock;
  logError: ErrorLogger;
}

export const DEFAULT_LIMITS: Required<GatewayLimits> = {
  maxBodyBytes: 32 * 1024 * 1024,
  maxConcurrent: 64,
  maxQueue: 256,
  maxQueueWaitMs: 60_000,
  retryAfterSeconds: 1,
  requestTimeoutMs: 600_000,
  defaultMaxTokens: null,
  defaultTemperature: null,
  maxMaxTokens: null,
  maxN: 8,
  toolCallSchemas: "all",
};

export function parseKeys(text: string | undefined): string[] {
  return (text ?? "").split(",").map((k) => k.trim()).filter((k) => k.length > 0);
}

/** An environment variable, or undefined where there is none or Deno runs without --allow-env. */
export function envVar(name: string): string | undefined {
  try {
    return process.env[name];
  } catch {
    return undefined;
  }
}

function positiveInt(name: string, v: number, allowZero = false): void {
  if (!Number.isSafeInteger(v) || v < (allowZero ? 0 : 1)) {
    throw new TypeError(`gateway limit ${name} must be an integer ≥ ${allowZero ? 0 : 1}, got ${String(v)}`);
  }
}

export function resolveOptions(o: GatewayOptions): ResolvedGatewayOptions {
  if (typeof o.binding !== "function") {
    throw new TypeError(
      "createApp needs `binding`: a function returning the runtime binding, or null while none is connected",
    );
  }
  const env = o.env ?? envVar;
  const apiKeys = [...(o.apiKeys ?? parseKeys(env("GUST_API_KEYS")))];
  const limits = {
    ...DEFAULT_LIMITS,
    ...Object.fromEntries(Object.entries(o.limits ?? {}).filter(([, v]) => v !== undefined)),
  } as Required<GatewayLimits>;
  for (const k of ["maxBodyBytes", "maxConcurrent", "maxQueueWaitMs", "requestTimeoutMs", "maxN"] as const) {
    positiveInt(k, limits[k]);
  }
  positiveInt("maxQueue", limits.maxQueue, true);
  positiveInt("retryAfterSeconds", limits.retryAfterSeconds, true);
  for (const k of ["defaultMaxTokens", "maxMaxTokens"] as const) if (limits[k] !== null) positiveInt(k, limits[k]!);
  const t = limits.defaultTemperature;
  if (t !== null && !(typeof t === "number" && Number.isFinite(t) && t >= 0)) {
    throw new TypeError(`gateway limit defaultTemperature must be a number ≥ 0 or null, got ${String(t)}`);
  }
  if (!TOOL_CALL_SCHEMAS.includes(limits.toolCallSchemas)) {
    throw new TypeError(
      `gateway limit toolCallSchemas must be one of ${TOOL_CALL_SCHEMAS.join(", ")}, got ${
        String(limits.toolCallSchemas)
      }`,
    );
  }
  const keepAliveMs = o.keepAliveMs ?? 5000;
  positiveInt("keepAliveMs", keepAliveMs);
  for (const [name, keys] of Object.entries(o.functionKeys ?? {})) {
    if (keys.some((k) => typeof k !== "string" || k.length === 0)) {
      throw new TypeError(`functionKeys.${name} must be a list of non-empty strings`);
    }
  }
  if (apiKeys.some((k) => k.length === 0)) throw new TypeError("apiKeys must be non-empty strings");
  return {
    binding: o.binding,
    apiKeys,
    functionKeys: { ...o.functionKeys },
    limits,
    reasoning: o.reasoning ?? {},
    keepAliveMs,
    vision: o.vision ?? null,
    functions: o.functions ?? null,
    modelAliases: [...(o.modelAliases ?? [])],
    clock: o.clock ?? systemClock,
    logError: o.logError ?? consoleErrorLogger,
  };
}
