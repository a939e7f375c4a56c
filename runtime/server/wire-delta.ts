// Engine events as wire deltas: the request's own id (Connection's wireIdOf), the tokens with their log-probs, and
// which of them were forced.
import type { WireDelta } from "../wire/messages.ts";
import type { StepEvent } from "../engine/request.ts";

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
