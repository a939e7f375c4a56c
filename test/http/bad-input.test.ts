// The bad-input table over HTTP against the app with a fake runtime (the e2e suite runs the same table against
// real processes). Every row must get its 4xx status and an error body naming the offending field, the runtime
// must never see the request, and the gateway must keep serving good requests.
import { describe, expect, it } from "vitest";
import { testGateway } from "../helpers/gateway.ts";

const OPENAI = "/v1/chat/completions";
const MISTRAL = "/mistral/v1/chat/completions";
const KEY = "sk-good";
const msgs = (...m: Array<Record<string, unknown>>) => ({ messages: m });
const u = (content: unknown) => ({ role: "user", content });

interface Row {
  name: string;
  path?: string;
  /** A JSON value, or raw text when a string. */
  body?: unknown;
  headers?: Record<string, string>;
  method?: string;
  status: number;
  /** `error.param`; null where there is no field (the whole body, a header). */
  param: string | null;
  code?: string;
  /** Also run against the Mistral route. */
  both?: boolean;
}

const CONTEXT = 256;

const rows: Row[] = [
  { name: "malformed JSON", body: '{"messages": [', status: 400, param: "body", code: "invalid_json", both: true },
  { name: "empty body", body: "", status: 400, param: "body", code: "invalid_json", both: true },
  { name: "JSON that is not an object", body: "[1,2]", status: 400, param: "body", code: "invalid_type", both: true },
  { name: "missing messages", body: { model: "tiny-mistral3" }, status: 400, param: "messages", both: true },
  { name: "messages not a list", body: { messages: "hi" }, status: 400, param: "messages", both: true },
  { name: "empty messages", body: { messages: [] }, status: 400, param: "messages", both: true },
  {
    name: "unknown role",
    body: msgs(u("hi"), { role: "robot", content: "beep" }),
    status: 400,
    param: "messages[1].role",
    both: true,
  },
  { name: "message not an object", body: { messages: ["hi"] }, status: 400, param: "messages[0]", both: true },
  { name: "content of the wrong type", body: msgs(u(42)), status: 400, param: "messages[0].content", both: true },
  {
    name: "unknown chunk type",
    body: msgs(u([{ type: "video", url: "x" }])),
    status: 400,
    param: "messages[0].content[0].type",
    both: true,
  },
  {
    name: "user message without content",
    body: msgs({ role: "user" }),
    status: 400,
    param: "messages[0].content",
    both: true,
  },
  {
    name: "tool result without an id",
    body: msgs(u("x"), { role: "assistant", content: "y" }, { role: "tool", content: "z" }),
    status: 400,
    param: "messages[2].tool_call_id",
    both: true,
  },
  {
    name: "temperature of the wrong type",
    body: { ...msgs(u("x")), temperature: "hot" },
    status: 400,
    param: "temperature",
    both: true,
  },
  {
    name: "negative temperature",
    body: { ...msgs(u("x")), temperature: -1 },
    status: 400,
    param: "temperature",
    both: true,
  },
  { name: "top_p out of range", body: { ...msgs(u("x")), top_p: 1.5 }, status: 400, param: "top_p", both: true },
  {
    name: "max_tokens as a string",
    body: { ...msgs(u("x")), max_tokens: "10" },
    status: 400,
    param: "max_tokens",
    both: true,
  },
  { name: "max_tokens 0", body: { ...msgs(u("x")), max_tokens: 0 }, status: 400, param: "max_tokens", both: true },
  {
    name: "max_tokens negative",
    body: { ...msgs(u("x")), max_tokens: -5 },
    status: 400,
    param: "max_tokens",
    both: true,
  },
  {
    name: "max_tokens fractional",
    body: { ...msgs(u("x")), max_tokens: 2.5 },
    status: 400,
    param: "max_tokens",
    both: true,
  },
  {
    name: "max_completion_tokens 0",
    body: { ...msgs(u("x")), max_completion_tokens: 0 },
    status: 400,
    param: "max_completion_tokens",
  },
  {
    name: "max_tokens above the operator limit",
    body: { ...msgs(u("x")), max_tokens: 1001 },
    status: 400,
    param: "max_tokens",
    both: true,
  },
  {
    name: "a prompt longer than the context",
    body: msgs(u("word ".repeat(300))),
    status: 400,
    param: "messages",
    code: "context_length_exceeded",
    both: true,
  },
  { name: "stream not a boolean", body: { ...msgs(u("x")), stream: "yes" }, status: 400, param: "stream", both: true },
  { name: "n zero", body: { ...msgs(u("x")), n: 0 }, status: 400, param: "n", both: true },
  { name: "n above the limit", body: { ...msgs(u("x")), n: 99 }, status: 400, param: "n", both: true },
  { name: "stop of the wrong type", body: { ...msgs(u("x")), stop: 5 }, status: 400, param: "stop", both: true },
  { name: "empty stop sequence", body: { ...msgs(u("x")), stop: [""] }, status: 400, param: "stop[0]", both: true },
  {
    name: "stop token outside the vocabulary",
    body: { ...msgs(u("x")), stop_token_ids: [1_000_000] },
    status: 400,
    param: "stop_token_ids[0]",
    both: true,
  },
  { name: "tools not a list", body: { ...msgs(u("x")), tools: "all" }, status: 400, param: "tools", both: true },
  {
    name: "tool with a bad function name",
    body: { ...msgs(u("x")), tools: [{ type: "function", function: { name: "get weather" } }] },
    status: 400,
    param: "tools[0].function.name",
    both: true,
  },
  {
    name: "tool_choice required without tools",
    body: { ...msgs(u("x")), tool_choice: "required" },
    status: 400,
    param: "tool_choice",
    code: "invalid_value",
    both: true,
  },
  {
    name: "named tool_choice not among the tools",
    body: {
      ...msgs(u("x")),
      tools: [{ type: "function", function: { name: "a" } }],
      tool_choice: { type: "function", function: { name: "b" } },
    },
    status: 400,
    param: "tool_choice.function.name",
    both: true,
  },
  {
    name: "tool_choice required with response_format",
    body: {
      ...msgs(u("x")),
      tools: [{ type: "function", function: { name: "a" } }],
      tool_choice: "required",
      response_format: { type: "json_object" },
    },
    status: 400,
    param: "response_format",
    both: true,
  },
  {
    name: "unknown tool_choice",
    body: { ...msgs(u("x")), tool_choice: "sometimes" },
    status: 400,
    param: "tool_choice",
    both: true,
  },
  {
    name: "response_format json_schema without json_schema",
    body: { ...msgs(u("x")), response_format: { type: "json_schema" } },
    status: 400,
    param: "response_format.json_schema",
    both: true,
  },
  {
    name: "response_format json_schema without a schema",
    body: { ...msgs(u("x")), response_format: { type: "json_schema", json_schema: { name: "x" } } },
    status: 400,
    param: "response_format.json_schema.schema",
    both: true,
  },
  {
    name: "response_format schema gust cannot honour",
    body: {
      ...msgs(u("x")),
      response_format: {
        type: "json_schema",
        json_schema: { name: "x", schema: { type: "object", properties: { a: { type: "thing" } } } },
      },
    },
    status: 400,
    param: "response_format.json_schema.schema",
    both: true,
  },
  {
    name: "unknown response_format",
    body: { ...msgs(u("x")), response_format: { type: "xml" } },
    status: 400,
    param: "response_format.type",
    code: "invalid_value",
    both: true,
  },
  {
    name: "unknown reasoning_effort",
    body: { ...msgs(u("x")), reasoning_effort: "ultra" },
    status: 400,
    param: "reasoning_effort",
    both: true,
  },
  {
    name: "negative reasoning budget",
    body: { ...msgs(u("x")), reasoning: { budget_tokens: -1 } },
    status: 400,
    param: "reasoning.budget_tokens",
    both: true,
  },
  {
    name: "top_logprobs out of range",
    body: { ...msgs(u("x")), logprobs: true, top_logprobs: 50 },
    status: 400,
    param: "top_logprobs",
  },
  {
    name: "logit_bias key not a token id",
    body: { ...msgs(u("x")), logit_bias: { abc: 1 } },
    status: 400,
    param: "logit_bias.abc",
  },
  { name: "seed not an integer", body: { ...msgs(u("x")), seed: 1.5 }, status: 400, param: "seed" },
  {
    name: "negative random_seed",
    path: MISTRAL,
    body: { ...msgs(u("x")), random_seed: -1 },
    status: 400,
    param: "random_seed",
  },
  {
    name: "safe_prompt not a boolean",
    path: MISTRAL,
    body: { ...msgs(u("x")), safe_prompt: "yes" },
    status: 400,
    param: "safe_prompt",
  },
  {
    name: "unknown prompt_mode",
    path: MISTRAL,
    body: { ...msgs(u("x")), prompt_mode: "turbo" },
    status: 400,
    param: "prompt_mode",
  },
  {
    name: "unknown model",
    body: { model: "gpt-5", ...msgs(u("x")) },
    status: 404,
    param: "model",
    code: "model_not_found",
    both: true,
  },
  {
    name: "oversized body",
    body: { ...msgs(u("x".repeat(70_000))) },
    status: 413,
    param: null,
    code: "request_too_large",
    both: true,
  },
  {
    name: "missing API key",
    headers: { authorization: "" },
    body: msgs(u("x")),
    status: 401,
    param: null,
    code: "missing_api_key",
    both: true,
  },
  {
    name: "bad API key",
    headers: { authorization: "Bearer sk-bad" },
    body: msgs(u("x")),
    status: 401,
    param: "authorization",
    code: "invalid_api_key",
    both: true,
  },
  {
    name: "function name with path characters",
    path: "/fn/..%2Fadmin/x",
    method: "GET",
    status: 400,
    param: "name",
    code: "invalid_function_name",
  },
  {
    name: "function name with a dot",
    path: "/fn/a.b/x",
    method: "GET",
    status: 400,
    param: "name",
    code: "invalid_function_name",
  },
];

const expanded = rows.flatMap((
  r,
) => (r.both
  ? [{ ...r, path: OPENAI }, { ...r, path: MISTRAL, name: `${r.name} (mistral)` }]
  : [{ ...r, path: r.path ?? OPENAI }])
);

describe("bad input over HTTP", () => {
  const g = testGateway({
    apiKeys: [KEY],
    fake: { contextLength: CONTEXT },
    limits: { maxBodyBytes: 64 * 1024, maxMaxTokens: 1000, maxN: 4 },
  });

  for (const row of expanded) {
    it(`${row.name} → ${row.status}${row.param ? ` naming ${row.param}` : ""}`, async () => {
      const headers: Record<string, string> = {
        "content-type": "application/json",
        authorization: `Bearer ${KEY}`,
        ...row.headers,
      };
      if (headers.authorization === "") delete headers.authorization;
      const init: RequestInit = { method: row.method ?? "POST", headers };
      if (row.body !== undefined) init.body = typeof row.body === "string" ? row.body : JSON.stringify(row.body);
      const before = g.fake.calls.length;
      const res = await g.app.request(row.path!, init);
      expect(res.status).toBe(row.status);
      expect(res.headers.get("content-type")).toContain("application/json");
      const body = await res.json();
      expect(Object.keys(body)).toEqual(["error"]);
      expect(Object.keys(body.error).sort()).toEqual(["code", "message", "param", "type"]);
      expect(body.error.param).toBe(row.param);
      if (row.code) expect(body.error.code).toBe(row.code);
      expect(typeof body.error.message).toBe("string");
      if (row.param) expect(body.error.message).toContain(row.param.replace(/\[\d+\].*$/, "")); // the message names the field too
      expect(body.error.type).toBe(
        row.status === 401 ? "authentication_error" : row.status === 404 ? "not_found_error" : "invalid_request_error",
      );
      expect(g.fake.calls.length).toBe(before); // the runtime never saw it
    });
  }

  it("keeps serving good requests on both routes afterwards", async () => {
    const headers = { "content-type": "application/json", authorization: `Bearer ${KEY}` };
    for (const path of [OPENAI, MISTRAL]) {
      const res = await g.app.request(path, { method: "POST", headers, body: JSON.stringify(msgs(u("hello"))) });
      expect(res.status).toBe(200);
      expect(JSON.stringify(await res.json())).toContain("Hello there");
    }
    expect(g.errors).toEqual([]); // no row was a 500 in disguise
  });
});
