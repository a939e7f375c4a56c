// Engine events as wire deltas: the request's own id (the engine's id without its connection prefix), the tokens
// with their log-probs, and which of them were forced.
import type { WireDelta } from "../wire/messages.ts";
import type { StepEvent } from "../engine/request.ts";

/** "17/chat-3" (connection 17's request "chat-3", as the engine knows it) → "chat-3". */
export const wireIdOf = (engineId: string) => engineId.slice(engineId.indexOf("/") + 1);

export function wireDelta(wireId: string, e: StepEvent): WireDelta {
  const forced = e.tokens.flatMap((t, i) => (t.forced ? [i] : []));
  return {
    id: wireId,
    index: e.index,
    finish: e.finishReason,
    usage: e.usage,
    tokens: e.tokens.map((t) =>
      t.topLogprobs
        ? [t.token, t.logprob, t.topLogprobs.map((a) => [a.token, a.logprob] as [number, number])]
        : [t.token, t.logprob]
    ),
    ...(forced.length > 0 ? { forced } : {}),
  };
}
