/** The two ways a chat answer goes out, shared by the dialects: one JSON body, or SSE.
 *
 * SSE: the response is held back until the first update, an error, or `keepAliveMs` — so a refusal that comes
 * quickly (runtime overloaded, deadline) still gets its real HTTP status — then the stream opens with the role
 * chunk, carries `data: {...}` chunks with `: keep-alive` comments in silences, and ends with `data: [DONE]`. An
 * error after the stream opened is sent as a `data: {"error": {...}}` event (what OpenAI's SDK turns into an
 * exception) and the stream ends without [DONE]. A client disconnect aborts the generation. */
import type { Clock, TimerHandle } from "../../http/clock.ts";
import type { GatewayContext } from "../../http/env.ts";
import { toHttpError } from "../../http/errors.ts";
import { bodyInMemory } from "../../http/lifecycle.ts";
import type { ErrorLogger } from "../../http/errors.ts";
import { SSE_HEADERS, SseStream } from "../../http/sse.ts";
import type { DialectFormat, ResponseMeta } from "./format.ts";
import type { ChatPlan } from "../../chat/plan.ts";
import { ChatRun, choiceOptionsOf, ClientGone } from "../../chat/run.ts";
import type { Update } from "../../chat/run.ts";

export interface RespondOptions {
  clock: Clock;
  keepAliveMs: number;
  route: string;
  /** Where failures after the stream opened are logged (before it, the app's error handler logs them). */
  logError?: ErrorLogger;
  /** Tool-call ids in the dialect's style (default: chat completions'). */
  newToolCallId?: (index: number) => string;
  /** Said in `x-gust-warning` headers (hosted tools left out, ...). */
  warnings?: readonly string[];
}

/** What the answer's headers say about the request: a max_tokens lowered to the room the context leaves
 * ("32000 -> 3812"), and warnings. */
function noteHeaders(plan: ChatPlan, warnings: readonly string[] = []): Headers {
  const h = new Headers();
  if (plan.clamped) h.set("x-gust-max-tokens-clamped", `${plan.clamped.requested} -> ${plan.clamped.allowed}`);
  for (const w of warnings) h.append("x-gust-warning", w.replace(/[^\x20-\x7e]/g, "?"));
  return h;
}

function withHeaders(res: Response, extra: Headers): Response {
  extra.forEach((v, k) => res.headers.append(k, v));
  return res;
}

/** Status for a request whose client is gone (nginx's convention; nobody reads it). */
const CLIENT_CLOSED = 499;

export async function respondChat(
  c: GatewayContext,
  plan: ChatPlan,
  format: DialectFormat,
  opts: RespondOptions,
): Promise<Response> {
  const binding = c.get("binding");
  const run = new ChatRun(plan, {
    binding,
    clientSignal: c.req.raw.signal,
    deadline: c.get("deadline"),
    metrics: c.get("metrics"),
    clock: opts.clock,
    startedAt: c.get("startedAt") ?? opts.clock.now(),
    route: opts.route,
  }, { ...choiceOptionsOf(plan.params), ...(opts.newToolCallId ? { newToolCallId: opts.newToolCallId } : {}) });
  const notes = noteHeaders(plan, opts.warnings);
  const meta: ResponseMeta = {
    id: format.newId(),
    created: Math.floor(opts.clock.now() / 1000),
    // the name the client asked for (checked against the served names), as vLLM answers
    model: plan.params.model ?? binding.info.id,
  };
  if (!plan.params.stream) {
    try {
      for await (const _ of run.updates());
    } catch (e) {
      if (e instanceof ClientGone) return new Response(null, { status: CLIENT_CLOSED });
      throw e;
    }
    return withHeaders(bodyInMemory(c.json(format.completion(run, meta) as object)), notes);
  }
  const requestId = c.get("requestId");
  return withHeaders(
    await streamChat(run, format, meta, {
      ...opts,
      logError: opts.logError && ((e) => opts.logError!({ ...e, requestId })),
    }),
    notes,
  );
}

type Early = { kind: "update"; result: IteratorResult<Update[]> } | { kind: "error"; error: unknown } | {
  kind: "timeout";
};

async function streamChat(
  run: ChatRun,
  format: DialectFormat,
  meta: ResponseMeta,
  opts: RespondOptions,
): Promise<Response> {
  const updates = run.updates();
  const first = updates.next().then(
    (result): Early => ({ kind: "update", result }),
    (error): Early => ({ kind: "error", error }),
  );
  let timer: TimerHandle | null = null;
  const timeout = new Promise<Early>((
    resolve,
  ) => (timer = opts.clock.setTimeout(() => resolve({ kind: "timeout" }), opts.keepAliveMs)));
  const early = await Promise.race([first, timeout]);
  opts.clock.clearTimeout(timer);
  if (early.kind === "error") {
    if (early.error instanceof ClientGone) return new Response(null, { status: CLIENT_CLOSED });
    throw early.error; // nothing sent yet: the error handler gives it its status
  }
  const sse = new SseStream({
    clock: opts.clock,
    keepAliveMs: opts.keepAliveMs,
    onCancel: () => run.abort(new ClientGone("the client closed the stream")),
    keepAlive: format.sse?.keepAlive && (() => {
      const data = format.sse!.keepAlive!();
      return { data, name: format.sse!.event(data) };
    }),
  });
  void pump(sse, updates, early.kind === "update" ? Promise.resolve(early) : first, run, format, meta, opts.logError);
  return new Response(sse.readable, { status: 200, headers: SSE_HEADERS });
}

async function pump(
  sse: SseStream,
  updates: AsyncGenerator<Update[]>,
  first: Promise<Early>,
  run: ChatRun,
  format: DialectFormat,
  meta: ResponseMeta,
  log?: ErrorLogger,
): Promise<void> {
  try {
    const send = (ch: unknown) => sse.event(ch, format.sse?.event(ch));
    for (const ch of format.openChunks(run, meta)) send(ch);
    const head = await first;
    if (head.kind === "error") throw head.error;
    let result = (head as { result: IteratorResult<Update[]> }).result;
    while (!result.done) {
      for (const update of result.value) for (const ch of format.updateChunks(update, run, meta)) send(ch);
      await sse.ready();
      result = await updates.next();
    }
    for (const ch of format.closeChunks(run, meta)) send(ch);
    if (format.sse?.done !== false) sse.event("[DONE]");
  } catch (e) {
    if (!(e instanceof ClientGone)) {
      const err = toHttpError(e);
      if (err.code === "internal_error") log?.({ requestId: undefined, status: err.status, error: e });
      const event = format.sse ? format.sse.error(err) : err.toJSON();
      sse.event(event, format.sse?.event(event));
    }
  } finally {
    sse.close();
  }
}
