import { Hono } from "hono";
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { RuntimeError } from "../../functions/sdk/binding.ts";
import { ERROR_CODES } from "../../runtime/wire/messages.ts";
import type { GatewayEnv } from "../../functions/http/env.ts";
import { HttpError, issuePath, toHttpError } from "../../functions/http/errors.ts";
import { errorHandler } from "../../edge/middleware/error-handler.ts";
import { ChatRequestError } from "../../runtime/text/errors.ts";

function appThrowing(err: unknown) {
  const logged: unknown[] = [];
  const app = new Hono<GatewayEnv>();
  app.get("/", () => {
    throw err;
  });
  app.onError(errorHandler((e) => logged.push(e.error)));
  return { app, logged };
}

describe("error handler", () => {
  it("valibot issues → 400 naming the path as messages[2].role", async () => {
    const schema = v.object({ messages: v.array(v.object({ role: v.picklist(["user"]) })) });
    let err: unknown;
    try {
      v.parse(schema, { messages: [{ role: "user" }, { role: "user" }, { role: "robot" }] });
    } catch (e) {
      err = e;
    }
    expect(issuePath((err as v.ValiError<any>).issues[0])).toBe("messages[2].role");
    const { app } = appThrowing(err);
    const res = await app.request("/");
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatchObject({
      param: "messages[2].role",
      type: "invalid_request_error",
      code: "invalid_value",
    });
  });

  it("ChatRequestError → 400 with its path, rule and what is allowed", async () => {
    const { app } = appThrowing(
      new ChatRequestError(
        "messages[1].tool_call_id",
        "tool-call-id",
        "a tool call id is required",
        "a non-empty string",
      ),
    );
    const res = await app.request("/");
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: {
        message: "messages[1].tool_call_id: a tool call id is required; allowed: a non-empty string",
        type: "invalid_request_error",
        param: "messages[1].tool_call_id",
        code: "tool-call-id",
      },
    });
  });

  const runtimeCases: Array<[RuntimeError["code"], number, string | null]> = [
    ["invalid_request", 400, null],
    ["context_overflow", 400, null],
    ["duplicate_request", 400, null],
    ["does_not_fit", 413, null],
    ["overloaded", 429, "1"],
    ["draining", 503, "1"],
    ["unavailable", 503, "1"],
    ["internal", 500, null],
  ];
  it("every code of the wire's one vocabulary (engine → runtime → gateway) has its HTTP answer here", () => {
    expect(runtimeCases.map(([code]) => code).sort()).toEqual([...ERROR_CODES].sort());
  });

  for (const [code, status, retry] of runtimeCases) {
    it(`RuntimeError ${code} → ${status}`, async () => {
      const { app } = appThrowing(new RuntimeError(code, `runtime says ${code}`));
      const res = await app.request("/");
      expect(res.status).toBe(status);
      expect(res.headers.get("retry-after")).toBe(retry);
      const body = await res.json();
      expect(body.error.message).toBe(`runtime says ${code}`);
      expect(body.error.code).toBe(code === "context_overflow" ? "context_length_exceeded" : code);
    });
  }

  it("HttpError keeps status, headers and fields", async () => {
    const { app } = appThrowing(new HttpError(429, "slow_down", "too many", null, { "retry-after": "3" }));
    const res = await app.request("/");
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("3");
    expect(await res.json()).toEqual({
      error: { message: "too many", type: "rate_limit_error", param: null, code: "slow_down" },
    });
  });

  it("errors that describe themselves (the vision library's) keep their status and body", async () => {
    class VisionLike extends Error {
      status = 413;
      toJSON() {
        return {
          error: {
            message: "image too large",
            type: "invalid_request_error",
            param: "messages[0].content[1]",
            code: "image_too_many_bytes",
          },
        };
      }
    }
    const { app } = appThrowing(new VisionLike("x"));
    const res = await app.request("/");
    expect(res.status).toBe(413);
    expect((await res.json()).error).toEqual({
      message: "image too large",
      type: "invalid_request_error",
      param: "messages[0].content[1]",
      code: "image_too_many_bytes",
    });
  });

  it("errors tagged with a status (and Hono's HTTPException) keep it and their message", async () => {
    const { HTTPException } = await import("hono/http-exception");
    let { app } = appThrowing(Object.assign(new Error("The model runtime is not connected"), { status: 503 }));
    let res = await app.request("/");
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect((await res.json()).error).toMatchObject({
      message: "The model runtime is not connected",
      type: "service_unavailable_error",
    });
    ({ app } = appThrowing(new HTTPException(403, { message: "no entry" })));
    res = await app.request("/");
    expect(res.status).toBe(403);
    expect((await res.json()).error).toMatchObject({
      message: "no entry",
      type: "permission_error",
      code: "http_exception",
    });
    ({ app } = appThrowing(new HTTPException(418, { res: new Response("teapot", { status: 418 }) })));
    res = await app.request("/");
    expect(await res.text()).toBe("teapot");
  });

  it("anything else → 500 without message or stack, logged", async () => {
    const secret = new TypeError("Cannot read properties of undefined (reading 'x') at /srv/gust/edge/secret.ts:12");
    const { app, logged } = appThrowing(secret);
    const res = await app.request("/");
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).not.toContain("secret.ts");
    expect(text).not.toContain("Cannot read");
    expect(JSON.parse(text).error).toMatchObject({ type: "server_error", code: "internal_error" });
    expect(logged).toEqual([secret]);
    expect(toHttpError("a string").status).toBe(500);
  });
});
