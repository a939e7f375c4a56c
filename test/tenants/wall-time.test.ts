// The wall-time limit of function isolates, on both gateways: a request still in its isolate past the limit (a
// handler awaiting a promise that never settles, or a loop that yields to the event loop and so answers the CPU
// limit's pings) has the isolate killed and replaced; the request gets a 504 naming the limit and its flag, and the
// next request is served by a fresh isolate (another process id). A handler that ignores the abort of its timeoutMs
// has its isolate replaced too.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FunctionGateway, startFunctionGateway } from "../helpers/function-gateway.ts";
import { freePort } from "../helpers/processes.ts";

const fn = (body: string, limits = "{}") => `
  import { Hono } from "hono";
  import { defineFunction } from "gust/sdk";
  const app = new Hono();
  app.get("/pid", (c) => c.json({ pid: Deno.pid }));
  ${body}
  export default defineFunction({ app, limits: ${limits} });`;

const hang = `app.get("/hang", () => new Promise(() => {}));`;
const yielding = `app.get("/yielding", async () => { for (;;) await new Promise((r) => setTimeout(r, 1)); });`;

describe.each(["bun", "deno"] as const)("the wall-time limit of function isolates on %s", (kind) => {
  let g: FunctionGateway;
  beforeAll(async () => {
    g = await startFunctionGateway(kind, await freePort(), ["--function-wall-ms", "1500"]);
    await g.deployAll({ stuck: fn(hang + yielding), deaf: fn(hang, "{ timeoutMs: 300 }") });
  }, 90_000);
  afterAll(async () => {
    await g?.stop();
  });

  /** The process id of the function's isolate, or null when this call did not get one (the isolate was replaced
   * under it). */
  const pidOf = async (name: string): Promise<number | null> => {
    const res = await fetch(`${g.base}/fn/${name}/pid`);
    return res.status === 200 ? (await res.json()).pid : null;
  };

  it.each(["/hang", "/yielding"])(
    "a request stuck at %s past the wall time is a 504 naming the limit and its flag; a fresh isolate serves the next",
    async (path) => {
      const before = await pidOf("stuck");
      expect(before).toEqual(expect.any(Number));
      const res = await fetch(`${g.base}/fn/stuck${path}`);
      expect(res.status).toBe(504);
      expect((await res.json()).error).toMatchObject({
        code: "function_wall_time",
        message: 'function "stuck" ran past its wall-time limit of 1500 ms (gust serve --function-wall-ms); ' +
          "its isolate was killed and is started again for the next request",
      });
      const after = await pidOf("stuck");
      expect(after).toEqual(expect.any(Number));
      expect(after).not.toBe(before);
      await g.drained();
    },
  );

  it("a handler that ignores the abort of its timeoutMs has its isolate replaced", async () => {
    const before = await pidOf("deaf");
    expect(before).toEqual(expect.any(Number));
    const res = await fetch(`${g.base}/fn/deaf/hang`);
    expect(res.status).toBe(504);
    expect((await res.json()).error.message).toContain("did not finish within its timeoutMs of 300 ms");
    // the isolate goes once the abort's grace (here the wall time, 1.5 s) has passed; the test's timeout bounds this
    let after = before;
    while (after === before || after === null) {
      await new Promise((r) => setTimeout(r, 100));
      after = await pidOf("deaf");
    }
    expect(after).not.toBe(before);
    await g.drained();
  });
});
