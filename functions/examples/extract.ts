// Example function: extract fields from text as JSON. The model is asked for one JSON object with the
// requested keys in JSON mode (the runtime only lets it write a JSON object); an answer cut short by the token
// limit gets one retry, then a 422 with the raw text.
//   curl localhost:8080/fn/extract/ -d '{"text": "Ada Lovelace, 36, London", "fields": ["name", "age", "city"]}'
import { Hono } from "hono";
import { type ChatInput, defineFunction, type FunctionEnv } from "../sdk/index.ts";

/** The first JSON object in the text (models sometimes wrap it in prose or code fences). */
export function firstJsonObject(text: string): Record<string, unknown> | null {
  const start = text.indexOf("{");
  for (let end = text.lastIndexOf("}"); start >= 0 && end > start; end = text.lastIndexOf("}", end - 1)) {
    try {
      const value = JSON.parse(text.slice(start, end + 1));
      if (value && typeof value === "object" && !Array.isArray(value)) return value;
    } catch {
      // try a shorter span
    }
  }
  return null;
}

const app = new Hono<FunctionEnv>();

app.post("/", async (c) => {
  const body = await c.req.json().catch(() => null);
  const fields = body?.fields;
  if (
    typeof body?.text !== "string" || !Array.isArray(fields) || fields.length === 0 ||
    !fields.every((f: unknown) => typeof f === "string")
  ) {
    return c.json({
      error: {
        message: "text (string) and fields (non-empty array of strings) are required",
        type: "invalid_request_error",
      },
    }, 400);
  }
  const messages: ChatInput["messages"] = [
    {
      role: "system",
      content: `Extract ${
        fields.join(", ")
      } from the user's text. Answer with one JSON object with exactly these keys; use null when a value is absent.`,
    },
    { role: "user", content: body.text },
  ];
  let raw = "";
  for (let attempt = 0; attempt < 2; attempt++) {
    raw = (await c.var.model.chat(
      { messages, maxTokens: 256, temperature: 0, responseFormat: "json_object" },
      c.req.raw.signal,
    )).content ??
      "";
    const data = firstJsonObject(raw);
    if (data) {
      return c.json({
        data: Object.fromEntries(fields.map((f: string) => [f, data[f] ?? null])),
        attempts: attempt + 1,
      });
    }
    messages.push({ role: "assistant", content: raw }, {
      role: "user",
      content: "That was not a complete JSON object. Answer with the JSON object only, shorter.",
    });
  }
  return c.json({ error: { message: "the model did not produce a JSON object", type: "extraction_failed", raw } }, 422);
});

export default defineFunction({ name: "extract", app });
