// Example function: a tool-calling agent loop. The model may call `add` and `now`; the function runs
// the calls, sends the results back, and repeats until the model answers (at most 4 rounds).
//   curl localhost:8080/fn/agent/ -d '{"question": "What is 2 + 3?"}'
import { Hono } from "hono";
import { type ChatInput, defineFunction, type FunctionEnv } from "../sdk/index.ts";

const tools: NonNullable<ChatInput["tools"]> = [
  {
    type: "function",
    function: {
      name: "add",
      description: "Add two numbers",
      parameters: {
        type: "object",
        properties: { a: { type: "number" }, b: { type: "number" } },
        required: ["a", "b"],
      },
    },
  },
  {
    type: "function",
    function: {
      name: "now",
      description: "The current time (ISO 8601, UTC)",
      parameters: { type: "object", properties: {} },
    },
  },
];

/** Runs one tool call; errors go back to the model as text so it can recover. */
export function runTool(name: string, argsJson: string): string {
  let args: Record<string, unknown>;
  try {
    args = JSON.parse(argsJson || "{}");
  } catch {
    return `error: arguments are not valid JSON: ${argsJson}`;
  }
  if (name === "add") {
    if (typeof args.a !== "number" || typeof args.b !== "number") return "error: add needs numbers a and b";
    return String(args.a + args.b);
  }
  if (name === "now") return new Date().toISOString();
  return `error: unknown tool ${name}; available: add, now`;
}

const app = new Hono<FunctionEnv>();

app.post("/", async (c) => {
  const body = await c.req.json().catch(() => null);
  if (typeof body?.question !== "string") {
    return c.json({
      error: { message: "question: a string is required", type: "invalid_request_error", param: "question" },
    }, 400);
  }
  const messages: ChatInput["messages"] = [{ role: "user", content: body.question }];
  const trace: { tool: string; arguments: string; result: string }[] = [];
  for (let round = 0; round < 4; round++) {
    const answer = await c.var.model.chat({ messages, tools, maxTokens: 256, temperature: 0 }, c.req.raw.signal);
    if (answer.toolCalls.length === 0) return c.json({ answer: answer.content ?? "", rounds: round + 1, trace });
    messages.push({
      role: "assistant",
      content: answer.content ?? "",
      tool_calls: answer.toolCalls.map((t) => ({
        id: t.id,
        type: "function",
        function: { name: t.name, arguments: t.arguments },
      })),
    });
    for (const call of answer.toolCalls) {
      const result = runTool(call.name, call.arguments);
      trace.push({ tool: call.name, arguments: call.arguments, result });
      messages.push({ role: "tool", tool_call_id: call.id, content: result });
    }
  }
  return c.json({ error: { message: "the agent did not answer within 4 rounds", type: "agent_error", trace } }, 502);
});

export default defineFunction({ name: "agent", app });
