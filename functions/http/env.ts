/** The Hono environment of the gateway: what the server entry passes in (`Bindings`) and what middleware sets on
 * the context (`Variables`). Routes and user functions read these through `c.var` or `c.get()`; the gateway's own hot
 * paths use `c.get("name")`, because each read of Hono's `c.var` builds a fresh object from every variable set so far
 * (Object.fromEntries over its map: ~1 KB per read on a chat request; docs/performance.md, gateway allocation). */
import type { Context } from "hono";
import type { ModelBinding } from "../sdk/binding.ts";
import type { ChatMetrics } from "../chat/metrics.ts";

/** Passed by the server entry as Hono's `env` (second argument of `app.fetch`). All optional: `app.request()` in
 * tests passes nothing, or fakes. */
export interface GatewayBindings {
  /** Bun: `() => server.timeout(req, 0)`. The deadline middleware calls it, because from then on the deadline
   * bounds the request and Bun's idle timeout (10 s by default) would cut silent prefill or hidden reasoning. */
  liftIdleTimeout?: () => void;
}

/** `c.var.reasoning`, resolved by the reasoning middleware. */
export interface ReasoningSettings {
  /** What goes into [MODEL_SETTINGS] (instruct v15 knows none and high). */
  effort: "none" | "high";
  /** Tokens allowed inside [THINK]…[/THINK]; null = unlimited; 0 with effort "none". */
  budgetTokens: number | null;
  /** Where the decision came from, for logs and tests: "request:reasoning_effort", "route-default", ... */
  source: string;
}

/** `c.var.deadline`, set by the deadline middleware. */
export interface Deadline {
  /** Aborts when the deadline passes (reason: a DeadlineExceeded HttpError). */
  readonly signal: AbortSignal;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
  remainingMs(): number;
}

/** One prepared image as the vision middleware (edge/middleware/vision.ts) hands it over. Only the fields the chat
 * routes read are named here; the vision library owns the full type. */
export interface PreparedImageLike {
  rgb: Uint8Array;
  /** After the resize (multiples of patch × merge). */
  width: number;
  height: number;
  hash: string;
  /** The token grid the vision library computed; the chat encoder must agree with it. */
  cols?: number;
  rows?: number;
}

/** `c.var.vision`, set by the vision middleware when the request has images. */
export interface VisionState {
  /** Keyed by the image source string as it appears in the request (data: URL, base64, http URL). */
  images: Map<string, PreparedImageLike>;
  imageTokens: number;
}

/** Called when the response body has been fully sent or the client went away (see middleware/observe.ts). */
export type DoneHook = (fn: () => void) => void;

export interface GatewayVariables {
  requestId: string;
  /** Epoch ms when the request entered the gateway (clock of the app). */
  startedAt: number;
  /** Runs `fn` once the response is over (body sent, cancelled, or no body). */
  onDone: DoneHook;
  /** Label for metrics; routes set it, e.g. "/v1/chat/completions", "/fn/summarize". */
  routeLabel: string;
  /** The gateway's metrics (edge/metrics/gateway-metrics.ts); routes see the part the chat core records. */
  metrics: ChatMetrics;
  /** The runtime binding, set by requireModel() on model routes (absent runtime → 503 before the route runs). */
  binding: ModelBinding;
  deadline: Deadline;
  reasoning: ReasoningSettings;
  /** The request body as parsed JSON (set by the first reader, see body.ts). */
  body: unknown;
  /** The request body text (set by the first reader; the vision middleware may set it too). */
  rawBody: string;
  vision: VisionState | undefined;
  /** Set when a middleware answered for a handler that is still running (deadline); see middleware/error-handler.ts. */
  answered: boolean;
}

export interface GatewayEnv {
  Bindings: GatewayBindings;
  Variables: GatewayVariables;
}

export type GatewayContext = Context<GatewayEnv>;
