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
import { ChatRun, ClientGone } from "../../chat/run.ts";
import type { Update } from "../../chat/run.ts";

export interface RespondOptions {
  clock: Clock;
  keepAliveMs: number;
  route: string;
  /** Where failures after the stream opened are logged (before it, the app's error handler logs them). */
  logError?: ErrorLogger;
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
  });
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
    return bodyInMemory(c.json(format.completion(run, meta) as object));
  }
  const requestId = c.get("requestId");
  return streamChat(run, format, meta, {
    ...opts,
    logError: opts.logError && ((e) => opts.logError!({ ...e, requestId })),
  });
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
    for (const ch of format.openChunks(run, meta)) sse.event(ch);
    const head = await first;
    if (head.kind === "error") throw head.error;
    let result = (head as { result: IteratorResult<Update[]> }).result;
    while (!result.done) {
      for (const update of result.value) for (const ch of format.updateChunks(update, run, meta)) sse.event(ch);
      await sse.ready();
      result = await updates.next();
    }
    for (const ch of format.closeChunks(run, meta)) sse.event(ch);
    sse.event("[DONE]");
  } catch (e) {
    if (!(e instanceof ClientGone)) {
      const err = toHttpError(e);
      if (err.code === "internal_error") log?.({ requestId: undefined, status: err.status, error: e });
      sse.event(err.toJSON());
    }
  } finally {
    sse.close();
  }
}
