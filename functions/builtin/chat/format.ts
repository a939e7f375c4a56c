/** What a dialect (OpenAI, Mistral) supplies to the shared response drivers in respond.ts. */
import type { ChoiceState } from "../../chat/choice.ts";
import type { ChatRun, Update } from "../../chat/run.ts";
import type { HttpError } from "../../http/errors.ts";

export interface ResponseMeta {
  id: string;
  created: number;
  model: string;
}

export interface DialectFormat {
  /** A fresh response id ("chatcmpl-..."). */
  newId(): string;
  /** The whole answer as one JSON body. */
  completion(run: ChatRun, meta: ResponseMeta): unknown;
  /** Chunks sent when the stream opens (the assistant role). */
  openChunks(run: ChatRun, meta: ResponseMeta): unknown[];
  /** Chunks for one update (text, tool calls, log-probs; the finish when `update.finished`). */
  updateChunks(update: Update, run: ChatRun, meta: ResponseMeta): unknown[];
  /** Chunks after every choice finished (usage), before `data: [DONE]`. */
  closeChunks(run: ChatRun, meta: ResponseMeta): unknown[];
  /** How the stream differs from chat completions' (absent: unnamed `data:` events, `[DONE]`, OpenAI's error). */
  sse?: {
    /** The `event:` name of a chunk. */
    event(chunk: unknown): string | undefined;
    /** End with `data: [DONE]`. */
    done: boolean;
    /** The event for an error after the stream opened. */
    error(e: HttpError): unknown;
    /** The event sent in a silence (prefill, hidden reasoning) instead of a `: keep-alive` comment. */
    keepAlive?(): unknown;
  };
}

/** Random lowercase hex for response ids. */
export function randomHex(chars: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(Math.ceil(chars / 2)));
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("").slice(0, chars);
}

export function validToolCalls(ch: ChoiceState) {
  return ch.toolCalls.filter((t) => t && t.done);
}

/** The usage object both dialects send. `cachedTokens`: OpenAI has prompt_tokens_details; Mistral's schema does
 * not (its SDK passes unknown fields through, so the reasoning details go out in both). */
export function usageBody(run: ChatRun, opts: { cachedTokens: boolean }) {
  const u = run.usage();
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.promptTokens + u.completionTokens,
    ...(opts.cachedTokens ? { prompt_tokens_details: { cached_tokens: u.cachedTokens } } : {}),
    completion_tokens_details: { reasoning_tokens: u.reasoningTokens, reasoning_budget_exhausted: u.budgetExhausted },
  };
}
