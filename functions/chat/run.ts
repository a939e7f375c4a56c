/** Drives one generation: sends the plan to the runtime with one abort signal (client disconnect, deadline, or our
 * own stop when every answer hit a stop sequence), feeds each runtime event to its choice, and records the
 * token and latency metrics. Every answer shape (one JSON, SSE, the function SDK's events) consumes `updates()`. */
import type { GenerateEvent, ModelBinding } from "../sdk/binding.ts";
import type { Clock } from "../http/clock.ts";
import type { Deadline } from "../http/env.ts";
import { HttpError } from "../http/errors.ts";
import type { AbortReason, ChatMetrics } from "./metrics.ts";
import { deadlineExceeded } from "../http/errors.ts";
import type { ChatEvent, ChoiceOptions } from "./choice.ts";
import { ChoiceState } from "./choice.ts";
import type { ChatPlan } from "./plan.ts";

/** The runtime gets a little longer than the gateway's deadline: the gateway's own timer should fire first and
 * answer properly; the runtime's timeout is the backstop for a gateway that vanished. */
const RUNTIME_TIMEOUT_GRACE_MS = 1000;

export interface RunContext {
  binding: ModelBinding;
  clientSignal: AbortSignal;
  deadline: Deadline | undefined;
  /** Without a deadline: milliseconds before the runtime aborts the sequence (absent: no limit). */
  timeoutMs?: number;
  metrics: ChatMetrics | undefined;
  clock: Clock;
  startedAt: number;
  route: string;
}

export interface Update {
  choice: ChoiceState;
  events: ChatEvent[];
  /** The choice finished with this update. */
  finished: boolean;
}

/** The client went away; nobody is left to answer. */
export class ClientGone extends Error {
  override name = "ClientGone";
}

/** What each choice needs from the request: stop sequences and stop ids, and whether to keep log-probs. */
export function choiceOptionsOf(params: ChatPlan["params"]): ChoiceOptions {
  return {
    stop: params.stop,
    stopTokenIds: new Set(params.stopTokenIds),
    logprobs: params.logprobs,
    ignoreEos: params.ignoreEos,
  };
}

export class ChatRun {
  readonly choices: ChoiceState[];
  private readonly internal = new AbortController();
  private firstTokenAt: number | null = null;
  /** When the generation went to the runtime: TTFT minus (first token − this) is the gateway's own share. */
  private sentAt = 0;
  private lastTokenAt = 0;

  constructor(
    readonly plan: ChatPlan,
    private readonly ctx: RunContext,
    choiceOptions: ChoiceOptions = choiceOptionsOf(plan.params),
  ) {
    const tok = ctx.binding.info.tokenizer;
    this.choices = Array.from({ length: plan.params.n }, (_, i) => new ChoiceState(i, tok, choiceOptions));
  }

  /** Stop the generation (the client left mid-stream). */
  abort(reason: unknown): void {
    this.internal.abort(reason);
  }

  /** Runtime events turned into choice updates, until every choice has finished. Throws HttpError for a deadline,
   * ClientGone for a disconnect, RuntimeError for a runtime refusal. */
  async *updates(): AsyncGenerator<Update[]> {
    const { binding, clientSignal, deadline } = this.ctx;
    // One signal for the runtime, fed by the client, the deadline and ourselves, and cut loose from them when the
    // generation is over: Deno fires request.signal after every finished response, which must not send a
    // pointless abort for a request that is already complete.
    const linked = new AbortController();
    const signal = linked.signal;
    const sources = [clientSignal, this.internal.signal, ...(deadline ? [deadline.signal] : [])];
    const forward = (e: Event) => linked.abort((e.target as AbortSignal).reason);
    for (const s of sources) {
      if (s.aborted) linked.abort(s.reason);
      else s.addEventListener("abort", forward, { once: true });
    }
    const timeoutMs = deadline ? Math.ceil(deadline.remainingMs()) + RUNTIME_TIMEOUT_GRACE_MS : this.ctx.timeoutMs;
    this.sentAt = this.ctx.clock.now();
    const iterator = binding.generate({
      ...this.plan.generate,
      signal,
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    })[Symbol.asyncIterator]();
    let complete = false;
    try {
      for (;;) {
        let r: IteratorResult<GenerateEvent>;
        try {
          r = await iterator.next();
        } catch (e) {
          if (signal.aborted) throw this.abortError(e);
          throw e;
        }
        if (r.done) break;
        const ev = r.value;
        this.onTokens(ev.tokens.length);
        const choice = this.choices[ev.index];
        if (!choice) continue; // an index we did not ask for: ignore rather than crash the response
        const wasDone = choice.done;
        const events = choice.apply(ev);
        if (ev.finishReason === "abort" && !wasDone && choice.finishReason === "abort") {
          // the runtime aborted a sequence we still wanted: our signal (deadline, client) or its own reasons
          throw this.abortError(
            new HttpError(
              503,
              "runtime_aborted",
              "the runtime aborted the generation (it may be shutting down or overloaded); retry the request",
              null,
              { "retry-after": "1" },
            ),
          );
        }
        yield [{ choice, events, finished: !wasDone && choice.done }];
        if (this.choices.every((ch) => ch.done)) {
          complete = true;
          if (this.choices.some((ch) => ch.stoppedBySequence && !ch.usage)) {
            // answers ended on stop sequences while the runtime still generates them: free the sequence now
            this.ctx.metrics?.aborts.inc({ reason: "stop_sequence" satisfies AbortReason });
            this.internal.abort(new Error("stop sequence matched"));
          }
          break;
        }
      }
      if (!complete) {
        if (signal.aborted) throw this.abortError(signal.reason);
        // the stream ended without finishing every choice: report what we have as cut short
        const left = this.choices.filter((ch) => !ch.done);
        yield left.map((choice) => ({ choice, events: choice.abandon("length"), finished: true }));
        complete = true;
      }
    } finally {
      if (!complete && !signal.aborted) linked.abort(new Error("response ended early"));
      for (const s of sources) s.removeEventListener("abort", forward);
      await iterator.return?.().catch(() => {});
      this.record();
    }
  }

  private abortError(cause: unknown): unknown {
    const { deadline, clientSignal, metrics } = this.ctx;
    if (deadline?.signal.aborted) {
      metrics?.aborts.inc({ reason: "deadline" satisfies AbortReason });
      return deadline.signal.reason ?? deadlineExceeded(0);
    }
    if (clientSignal.aborted || (this.internal.signal.aborted && this.internal.signal.reason instanceof ClientGone)) {
      metrics?.aborts.inc({ reason: "client" satisfies AbortReason });
      return new ClientGone("the client closed the connection");
    }
    return cause;
  }

  private onTokens(count: number): void {
    if (count === 0) return;
    const now = this.ctx.clock.now();
    if (this.firstTokenAt === null) {
      this.firstTokenAt = now;
      this.ctx.metrics?.ttft.observe((now - this.ctx.startedAt) / 1000, { route: this.ctx.route });
      this.ctx.metrics?.runtimeFirstToken.observe((now - this.sentAt) / 1000, { route: this.ctx.route });
    }
    this.lastTokenAt = now;
  }

  /** Token totals over all choices (the prompt counted once; the runtime reports it per sample). */
  usage(): {
    promptTokens: number;
    completionTokens: number;
    reasoningTokens: number;
    cachedTokens: number;
    budgetExhausted: boolean;
  } {
    const first = this.choices.find((ch) => ch.usage)?.usage;
    let completion = 0;
    let reasoning = 0;
    let exhausted = false;
    for (const ch of this.choices) {
      completion += ch.usage?.completion_tokens ?? ch.tokenCount;
      reasoning += ch.usage?.reasoning_tokens ?? 0;
      exhausted ||= ch.usage?.budget_exhausted ?? false;
    }
    return {
      promptTokens: first?.prompt_tokens ?? this.plan.encoded.ids.length,
      completionTokens: completion,
      reasoningTokens: reasoning,
      cachedTokens: first?.cached_tokens ?? 0,
      budgetExhausted: exhausted,
    };
  }

  private record(): void {
    const m = this.ctx.metrics;
    if (!m) return;
    const u = this.usage();
    m.promptTokens.inc({}, u.promptTokens);
    m.generationTokens.inc({}, u.completionTokens);
    m.reasoningTokens.inc({}, u.reasoningTokens);
    const errors = this.choices.reduce((s, ch) => s + ch.toolCallErrors.length, 0);
    if (errors) m.toolCallErrors.inc({}, errors);
    // choices run side by side, so the longest one is the request's pace
    const tokens = Math.max(0, ...this.choices.map((ch) => ch.tokenCount));
    if (this.firstTokenAt !== null && tokens > 1) {
      m.tpot.observe((this.lastTokenAt - this.firstTokenAt) / 1000 / (tokens - 1), { route: this.ctx.route });
    }
  }
}
