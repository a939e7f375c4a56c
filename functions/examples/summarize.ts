// Example function: summarize text, thinking first within a route-level reasoning budget.
//   curl localhost:8080/fn/summarize/ -d '{"text": "..."}'
import { Hono } from "hono";
import { defineFunction, type FunctionEnv } from "../sdk/index.ts";

const app = new Hono<FunctionEnv>();

app.post("/", async (c) => {
  const body = await c.req.json().catch(() => null);
  const text = body?.text;
  if (typeof text !== "string" || text.trim().length === 0) {
    return c.json({
      error: { message: "text: a non-empty string is required", type: "invalid_request_error", param: "text" },
    }, 400);
  }
  const answer = await c.var.model.chat({
    messages: [
      {
        role: "system",
        content: "Summarize the user's text in at most three sentences. Keep names and numbers exact.",
      },
      { role: "user", content: text },
    ],
    maxTokens: Math.min(1024, Number(body?.max_tokens) || 256),
    temperature: 0,
  }, c.req.raw.signal);
  return c.json({
    summary: answer.content ?? "",
    finish_reason: answer.finishReason,
    reasoning_tokens: answer.usage.reasoning_tokens,
  });
});

// Every request thinks first, for at most 512 tokens (operators may cap it lower).
export default defineFunction({ name: "summarize", app, reasoning: { effort: "high", budgetTokens: 512 } });
