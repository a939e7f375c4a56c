// Hostile functions, on both gateways: each runs in an isolate of its own (edge/isolate/), so spinning, reading the
// environment or files, exiting, hoarding memory, patching globals, calling the admin routes over loopback, streaming
// without end or answering with something that is not a Response gets that function a clear error and leaves every
// other function, the built-in routes and the keys unaffected, with the gateway serving throughout.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixtureDir } from "../helpers/fixtures.ts";
import { ADMIN_KEY, type FunctionGateway, startFunctionGateway } from "../helpers/function-gateway.ts";
import { freePort, type Started, startGust, tempSocket } from "../helpers/processes.ts";

const API_KEY = "hostile-api-key";
/** Resident memory of a process, in bytes (Linux). */
const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) * 1024;
const MODEL = "tiny-mistral3";

const fn = (body: string, limits = "{}") => `
  import { Hono } from "hono";
  import { defineFunction } from "gust/sdk";
  const app = new Hono();
  ${body}
  export default defineFunction({ app, limits: ${limits} });`;

// a well-behaved neighbour: uses JSON.parse, TextEncoder and crypto.subtle, which the hostile ones patch in theirs
const neighbour = fn(`app.post("/", async (c) => {
  const data = JSON.parse(await c.req.text());
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(data.text)));
  return c.json({ echo: data.text, first: digest[0] });
});`);

describe.each(["bun", "deno"] as const)("hostile functions on %s", (kind) => {
  let port = 0;
  const socket = tempSocket(`hostile-${kind}`);
  let runtime: Started;
  let g: FunctionGateway;
  const auth = { authorization: `Bearer ${API_KEY}` };
  const get = (path: string, init: RequestInit = {}) =>
    fetch(`${g.base}${path}`, { ...init, headers: { ...auth, ...(init.headers as Record<string, string>) } });

  beforeAll(async () => {
    runtime = await startGust(
      ["runtime", "--model", fixtureDir(MODEL), "--socket", socket, "--num-blocks", "64"],
      /serving/,
    );
    port = await freePort();
    g = await startFunctionGateway(kind, port, ["--runtime", socket, "--api-key", API_KEY, "--host", "127.0.0.1"]);
    const deploys: Record<string, string> = {
      neighbour,
      spin: fn(`app.get("/", () => { for (;;) {} });`),
      env: fn(`app.get("/", (c) => c.json({ deno: Deno.env.toObject() }));
        app.get("/process", (c) => c.json({ env: { ...process.env } }));`),
      files: fn(`app.get("/passwd", async (c) => c.text(await Deno.readTextFile("/etc/passwd")));
        app.get("/environ", async (c) => c.text(await Deno.readTextFile("/proc/self/environ")));
        app.get("/other", async (c) => c.text(await Deno.readTextFile(${
        JSON.stringify(`${"${STATE}"}/neighbour/v1.mjs`)
      })));
        app.get("/overwrite", async (c) => { await Deno.writeTextFile(${
        JSON.stringify(`${"${STATE}"}/neighbour/v1.mjs`)
      }, "export default 1"); return c.text("written"); });`),
      exit: fn(`app.get("/", () => Deno.exit(3));`),
      memory: fn(`const hoard = [];
        app.get("/", () => { for (;;) hoard.push(new Array(1 << 22).fill(7)); });
        app.get("/buffers", () => { for (;;) hoard.push(new Uint8Array(16 << 20).fill(1)); });`),
      patches: fn(`
        JSON.parse = () => ({ text: "patched" });
        globalThis.TextEncoder = class { encode() { return new Uint8Array([1]); } };
        crypto.subtle.digest = async () => new ArrayBuffer(32);
        app.get("/", (c) => c.text("patched my own globals"));`),
      admin: fn(`app.get("/", async (c) => {
        const res = await fetch("http://127.0.0.1:${port}/admin/functions/pwned", { method: "POST",
          headers: { "x-admin-key": "${ADMIN_KEY}", "content-type": "application/javascript" },
          body: "export default { fetch: () => new Response('pwned') }" });
        return c.text(String(res.status));
      });`),
      endless: fn(
        `app.get("/", () => new Response(new ReadableStream({ pull(ctl) { ctl.enqueue(new Uint8Array(65536)); } })));`,
        "{ timeoutMs: 1000 }",
      ),
      number: `export default { fetch: () => 42 };`,
    };
    for (const [name, source] of Object.entries(deploys)) {
      const res = await g.deploy(name, source.replaceAll("${STATE}", g.stateDir));
      expect(res.status, `${name}: ${await res.clone().text()}`).toBe(200);
    }
  }, 120_000);
  afterAll(async () => {
    await g?.stop();
    await runtime?.stop();
  });

  /** The neighbour, the built-in routes and the keys all still work. */
  async function othersUnaffected(): Promise<void> {
    const res = await get("/fn/neighbour/", { method: "POST", body: JSON.stringify({ text: "abc" }) });
    expect(await res.json()).toEqual({ echo: "abc", first: 186 }); // SHA-256("abc") starts with 0xba
    const chat = await get("/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: MODEL, max_tokens: 2, messages: [{ role: "user", content: "hi" }] }),
    });
    expect(chat.status).toBe(200);
    expect((await fetch(`${g.base}/v1/models`, { headers: { authorization: "Bearer made-up" } })).status).toBe(401);
    expect((await fetch(`${g.base}/health`)).status).toBe(200);
  }

  const errorOf = async (res: Response) => ({ status: res.status, message: (await res.json()).error?.message ?? "" });

  it("spin: 503 naming the CPU limit; the isolate is killed and the others keep answering meanwhile", async () => {
    const [spun] = await Promise.all([get("/fn/spin/").then(errorOf), othersUnaffected()]);
    expect(spun.status).toBe(503);
    expect(spun.message).toContain("CPU limit");
    await othersUnaffected();
  }, 30_000);

  it("env: no variable of the gateway is visible", async () => {
    for (const path of ["/fn/env/", "/fn/env/process"]) {
      const res = await get(path);
      const text = await res.text();
      expect(res.status, text).toBe(500);
      expect(text).toMatch(/env/i);
      expect(text).not.toContain(API_KEY);
      expect(text).not.toContain(ADMIN_KEY);
    }
    await othersUnaffected();
  });

  it("files: nothing outside its own bundle can be read, and nothing written", async () => {
    for (const path of ["passwd", "environ", "other", "overwrite"]) {
      const res = await get(`/fn/files/${path}`);
      const text = await res.text();
      expect(res.status, `${path}: ${text}`).toBe(500);
      expect(text).toMatch(/(read|write) access/);
    }
    await othersUnaffected();
  });

  it("exit: 503 naming the exit; the next call gets a fresh isolate", async () => {
    const first = await errorOf(await get("/fn/exit/"));
    expect(first.status).toBe(503);
    expect(first.message).toContain("isolate exited with code 3");
    expect((await get("/fn/exit/")).status).toBe(503); // started again, and exits again
    await othersUnaffected();
  });

  it("memory: 503 naming the memory limit; the gateway does not grow", async () => {
    const before = rssOf(g.gateway.proc.pid!);
    for (const path of ["/fn/memory/", "/fn/memory/buffers"]) {
      const res = await errorOf(await get(path));
      expect(res.status, path).toBe(503);
      expect(res.message, path).toContain("ran out of memory (its isolate's limit is 256 MiB)");
    }
    expect(rssOf(g.gateway.proc.pid!) - before).toBeLessThan(64 * 2 ** 20);
    await othersUnaffected();
  }, 30_000);

  it("global patches stay in the function's own isolate", async () => {
    expect(await (await get("/fn/patches/")).text()).toBe("patched my own globals");
    await othersUnaffected();
  });

  it("admin calls over loopback are refused: the isolate has no network", async () => {
    const res = await get("/fn/admin/");
    const text = await res.text();
    expect(res.status, text).toBe(500);
    expect(text).toMatch(/refused: this function has no network access; add the host to allowHosts/);
    expect((await get("/fn/pwned/")).status).toBe(404);
    await othersUnaffected();
  });

  it("an endless body is cut at its timeoutMs, a non-Response is a 502, and the slots come back", async () => {
    const cut = await get("/fn/endless/").then((r) => r.arrayBuffer()).then(() => "ended", () => "cut");
    expect(cut).toBe("cut");
    expect((await get("/fn/number/")).status).toBe(502);
    await othersUnaffected();
    while ((await g.running()) !== 0) await new Promise((r) => setTimeout(r, 50));
  });
});
