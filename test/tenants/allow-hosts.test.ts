// A function's outbound network, on both gateways: allowHosts opens exactly the hosts it names. The VM has no outside
// network, so the servers are local: at 127.0.0.2, the allowed one on the port a function declares, behind a gateway
// whose operator opened local addresses to functions (--function-allow-local). A function reaches the host it
// declares; a port it did not declare, and any host for a function that declares none, is refused with an error
// naming allowHosts, and the refused server never sees the request. Without the operator's flag, a function that names
// a loopback or this machine's address is refused at deploy.
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FunctionGateway, startFunctionGateway } from "../helpers/function-gateway.ts";
import { freePort } from "../helpers/processes.ts";

import { networkInterfaces } from "node:os";

const HOST = "127.0.0.2";

/** A server that answers its name and counts the requests it saw. */
async function countingServer(name: string): Promise<{ server: Server; port: number; hits: () => number }> {
  let hits = 0;
  const server = createServer((_req, res) => {
    hits++;
    res.end(`hello from ${name}`);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, HOST, resolve));
  return { server, port, hits: () => hits };
}

const fetcher = (allowHosts: string[] | null) => `
  import { Hono } from "hono";
  import { defineFunction } from "gust/sdk";
  const app = new Hono();
  app.get("/", async (c) => {
    try {
      const res = await fetch(c.req.query("url"));
      return c.json({ status: res.status, text: await res.text() });
    } catch (e) {
      return c.json({ refused: e.message });
    }
  });
  export default defineFunction({ app${allowHosts ? `, allowHosts: ${JSON.stringify(allowHosts)}` : ""} });`;

describe.each(["bun", "deno"] as const)("allowHosts on %s", (kind) => {
  let g: FunctionGateway;
  let allowed: Awaited<ReturnType<typeof countingServer>>;
  let other: Awaited<ReturnType<typeof countingServer>>;
  beforeAll(async () => {
    allowed = await countingServer("the allowed server");
    other = await countingServer("the other server");
    g = await startFunctionGateway(kind, await freePort(), ["--function-allow-local"]);
    await g.deployAll({ open: fetcher([`${HOST}:${allowed.port}`]), closed: fetcher(null) });
  }, 90_000);
  afterAll(async () => {
    await g?.stop();
    allowed?.server.close();
    other?.server.close();
  });

  const call = async (fn: string, url: string) =>
    await (await fetch(`${g.base}/fn/${fn}/?url=${encodeURIComponent(url)}`)).json();

  it("a function reaches the host its allowHosts names", async () => {
    const before = allowed.hits();
    expect(await call("open", `http://${HOST}:${allowed.port}/`)).toEqual({
      status: 200,
      text: "hello from the allowed server",
    });
    expect(allowed.hits()).toBe(before + 1);
  });

  it("a port it did not declare is refused with an error naming its allowHosts", async () => {
    expect(await call("open", `http://${HOST}:${other.port}/`)).toEqual({
      refused: `fetch to ${HOST}:${other.port} refused: this function may reach only its allowHosts ` +
        `(${HOST}:${allowed.port}); add the host to allowHosts in defineFunction({...}) (loopback is never reachable)`,
    });
    expect(other.hits()).toBe(0);
  });

  it("a function that declares no hosts reaches none", async () => {
    const before = allowed.hits();
    expect(await call("closed", `http://${HOST}:${allowed.port}/`)).toEqual({
      refused: `fetch to ${HOST}:${allowed.port} refused: this function has no network access; ` +
        "add the host to allowHosts in defineFunction({...}) (loopback is never reachable)",
    });
    expect(allowed.hits()).toBe(before);
  });

  it("loopback by name stays closed even to a function with allowHosts", async () => {
    const res = await call("open", `http://127.0.0.1:${allowed.port}/`);
    expect(res.refused).toContain("refused: this function may reach only its allowHosts");
  });
});

describe.each(["bun", "deno"] as const)("allowHosts naming local addresses on %s", (kind) => {
  let g: FunctionGateway;
  beforeAll(async () => {
    g = await startFunctionGateway(kind, await freePort());
  }, 90_000);
  afterAll(async () => await g?.stop());

  // a gateway bound to 0.0.0.0 answers on each of these as on 127.0.0.1: its admin routes included
  const own = Object.values(networkInterfaces()).flat().find((a) => a?.family === "IPv4" && !a.internal)?.address;
  const local = ["127.0.0.2:8080", "localhost", "admin.localhost", "0.0.0.0:80", ...(own ? [own] : [])];

  it.each(local)("a function naming %s is refused at deploy, saying the operator's flag opens it", async (host) => {
    const res = await g.deploy("local", fetcher([host]));
    expect(res.status).toBe(400);
    const message = (await res.json()).error.message;
    expect(message).toContain(`allowHosts names ${host}: loopback and this machine's own addresses are closed`);
    expect(message).toContain("--function-allow-local");
  });
});
