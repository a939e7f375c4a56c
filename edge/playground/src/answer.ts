// One assistant answer as its stream arrives: text, reasoning, tool calls (assembled from their fragments by
// index), usage, and the timings the page shows (time to first token, tokens per second).
export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  prompt_tokens_details?: { cached_tokens?: number };
  completion_tokens_details?: { reasoning_tokens?: number; reasoning_budget_exhausted?: boolean };
}

export interface Answer {
  content: string;
  reasoning: string;
  toolCalls: ToolCall[];
  toolCallErrors: string[];
  finishReason: string | null;
  usage: Usage | null;
  startedAt: number;
  firstTokenAt: number | null;
  endedAt: number | null;
}

export function newAnswer(now: number): Answer {
  return {
    content: "",
    reasoning: "",
    toolCalls: [],
    toolCallErrors: [],
    finishReason: null,
    usage: null,
    startedAt: now,
    firstTokenAt: null,
    endedAt: null,
  };
}

interface Delta {
  role?: string;
  content?: string | null;
  reasoning_content?: string | null;
  reasoning?: string | null;
  tool_calls?: { index: number; id?: string; function?: { name?: string; arguments?: string } }[];
  tool_call_errors?: { message: string }[];
}

export interface Chunk {
  choices?: { index: number; delta?: Delta; finish_reason?: string | null }[];
  usage?: Usage | null;
}

/** Folds one chat.completion.chunk into `a` (choice 0 only: the page asks for one). */
export function applyChunk(a: Answer, chunk: Chunk, now: number): void {
  if (chunk.usage) a.usage = chunk.usage;
  for (const choice of chunk.choices ?? []) {
    if (choice.index !== 0) continue;
    const d = choice.delta ?? {};
    // the gateway sends reasoning under both names; read one
    const reasoning = d.reasoning_content ?? d.reasoning ?? "";
    const generated = reasoning !== "" || (d.content ?? "") !== "" || (d.tool_calls?.length ?? 0) > 0;
    if (generated && a.firstTokenAt === null) a.firstTokenAt = now;
    a.reasoning += reasoning;
    a.content += d.content ?? "";
    for (const t of d.tool_calls ?? []) {
      const call = a.toolCalls[t.index] ??= { id: "", name: "", arguments: "" };
      if (t.id) call.id = t.id;
      if (t.function?.name) call.name += t.function.name;
      call.arguments += t.function?.arguments ?? "";
    }
    for (const e of d.tool_call_errors ?? []) a.toolCallErrors.push(e.message);
    if (choice.finish_reason) a.finishReason = choice.finish_reason;
  }
}

export interface AnswerStats {
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  ttftMs: number | null;
  /** Completion tokens after the first, over the time from the first token to the end; null under two tokens. */
  tokensPerSecond: number | null;
}

export function answerStats(a: Answer): AnswerStats | null {
  if (!a.usage) return null;
  const u = a.usage;
  const ttftMs = a.firstTokenAt === null ? null : a.firstTokenAt - a.startedAt;
  const spanMs = a.firstTokenAt !== null && a.endedAt !== null ? a.endedAt - a.firstTokenAt : 0;
  return {
    promptTokens: u.prompt_tokens,
    cachedTokens: u.prompt_tokens_details?.cached_tokens ?? 0,
    completionTokens: u.completion_tokens,
    reasoningTokens: u.completion_tokens_details?.reasoning_tokens ?? 0,
    ttftMs,
    tokensPerSecond: u.completion_tokens > 1 && spanMs > 0 ? (u.completion_tokens - 1) / (spanMs / 1000) : null,
  };
}

/** "prompt 21 (cached 0) · completion 11 (reasoning 0) · 35.2 tok/s · first token 120 ms". */
export function statsLine(s: AnswerStats): string {
  const parts = [
    `prompt ${s.promptTokens} (cached ${s.cachedTokens})`,
    `completion ${s.completionTokens} (reasoning ${s.reasoningTokens})`,
  ];
  if (s.tokensPerSecond !== null) parts.push(`${s.tokensPerSecond.toFixed(1)} tok/s`);
  if (s.ttftMs !== null) parts.push(`first token ${Math.round(s.ttftMs)} ms`);
  return parts.join(" · ");
}
