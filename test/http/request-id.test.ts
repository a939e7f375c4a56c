import { describe, expect, it } from "vitest";
import { testGateway } from "../helpers/gateway.ts";

describe("request id middleware", () => {
  it("makes an id when the client sends none and echoes it", async () => {
    const g = testGateway();
    const a = await g.app.request("/health");
    const b = await g.app.request("/health");
    const ida = a.headers.get("x-request-id");
    expect(ida).toMatch(/^[0-9a-f-]{36}$/);
    expect(b.headers.get("x-request-id")).not.toBe(ida);
  });

  it("keeps a sane incoming id", async () => {
    const g = testGateway();
    const res = await g.app.request("/health", { headers: { "x-request-id": "lb-7f3a:42" } });
    expect(res.headers.get("x-request-id")).toBe("lb-7f3a:42");
  });

  it("replaces an id that could inject into logs or headers", async () => {
    const g = testGateway();
    for (const bad of ["a b", "x".repeat(129), "id\u0001", "<script>"]) {
      const res = await g.app.request("/health", { headers: { "x-request-id": bad } });
      expect(res.headers.get("x-request-id")).not.toBe(bad);
    }
  });

  it("is on error responses too, and the 500 body names it", async () => {
    const g = testGateway();
    g.fake.script = () => {
      throw new Error("secret /etc/internal path");
    };
    const res = await g.post("/v1/chat/completions", { messages: [{ role: "user", content: "hi" }] }, {
      headers: { "x-request-id": "req-500" },
    });
    expect(res.status).toBe(500);
    expect(res.headers.get("x-request-id")).toBe("req-500");
    const body = await res.json();
    expect(body.error.message).toContain("req-500");
    expect(JSON.stringify(body)).not.toContain("secret");
    expect(g.errors).toHaveLength(1);
  });
});
