// `gust dev` as a developer uses it: runtime + gateway started together, a functions folder deployed on
// start and redeployed on save, without restarting the runtime.
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort, type Started, startGust } from "../helpers/processes.ts";

const dir = mkdtempSync(join(tmpdir(), "gust-dev-fns-"));
const port = await freePort();
let dev: Started | undefined;
let keyed: Started | undefined;
afterAll(async () => {
  await dev?.stop("SIGINT");
  await keyed?.stop("SIGINT");
});

const source = (greeting: string) => `
  import { Hono } from "hono";
  import { defineFunction } from "gust/sdk";
  const app = new Hono();
  app.get("/", (c) => c.json({ greeting: "${greeting}", model: c.var.model.info.id }));
  export default defineFunction({ name: "hello", app });`;

async function get(path: string) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.json() };
}

describe("gust dev", () => {
  it("deploys the functions folder on start and again on save, with the runtime untouched", async () => {
    writeFileSync(join(dir, "hello.ts"), source("hi"));
    dev = await startGust(["dev", "--functions", dir, "--port", String(port)], /ready on/, 60_000);
    expect(dev.output()).toMatch(/deployed hello v1/);
    expect(dev.output()).toMatch(/admin key made for this session: gust-admin-[0-9a-f]{48}/);
    const keyless = await fetch(`http://127.0.0.1:${port}/admin/functions/evil`, {
      method: "POST",
      body: "export default { fetch: () => new Response('pwned') };",
      headers: { "content-type": "application/javascript" },
    });
    expect(keyless.status).toBe(401);
    expect(await get("/fn/hello/")).toEqual({ status: 200, body: { greeting: "hi", model: "gust-mini" } });
    const runtimeStarts = (dev.output().match(/gust runtime: serving/g) ?? []).length;

    writeFileSync(join(dir, "hello.ts"), source("hello again"));
    for (let i = 0; i < 200 && !/deployed hello v2/.test(dev.output()); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(dev.output()).toMatch(/deployed hello v2/);
    expect((await get("/fn/hello/")).body.greeting).toBe("hello again");
    expect((dev.output().match(/gust runtime: serving/g) ?? []).length).toBe(runtimeStarts);

    writeFileSync(join(dir, "hello.ts"), "export default {{ broken");
    for (let i = 0; i < 200 && !/hello not deployed/.test(dev.output()); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(dev.output()).toMatch(/hello not deployed/);
    expect((await get("/fn/hello/")).body.greeting).toBe("hello again"); // the last good version keeps serving
  });

  it("on Deno, deploys with GUST_ADMIN_KEY and with GUST_API_KEYS set, and serves behind the API key", async () => {
    const fns = mkdtempSync(join(tmpdir(), "gust-dev-keyed-"));
    writeFileSync(join(fns, "hello.ts"), source("keyed"));
    const keyedPort = await freePort();
    keyed = await startGust(
      ["dev", "--functions", fns, "--port", String(keyedPort), "--gateway", "deno"],
      /ready on/,
      90_000,
      { GUST_ADMIN_KEY: "dev-admin-key", GUST_API_KEYS: "dev-api-key" },
    );
    expect(keyed.output()).toMatch(/deployed hello v1/);
    expect(keyed.output()).toContain("admin key from GUST_ADMIN_KEY");
    expect(keyed.output()).not.toContain("dev-admin-key");
    const url = `http://127.0.0.1:${keyedPort}/fn/hello/`;
    expect((await fetch(url)).status).toBe(401);
    const res = await fetch(url, { headers: { authorization: "Bearer dev-api-key" } });
    expect((await res.json()).greeting).toBe("keyed");
  });

  it("brings a SIGKILLed runtime back and serves again without user action", async () => {
    const children = execFileSync("pgrep", ["-P", String(dev!.proc.pid), "-f", "main.ts runtime"], {
      encoding: "utf8",
    });
    const runtimePid = Number(children.trim().split("\n")[0]);
    expect(runtimePid).toBeGreaterThan(0);
    process.kill(runtimePid, "SIGKILL");
    for (let i = 0; i < 600 && !/the runtime is back/.test(dev!.output()); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(dev!.output()).toMatch(/the runtime exited \(SIGKILL\); restarting in \d+ ms/);
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "gust-mini", max_tokens: 2, messages: [{ role: "user", content: "hi" }] }),
      });
      status = res.status;
      await res.arrayBuffer();
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(200);
  }, 60_000);
});
