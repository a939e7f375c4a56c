// A frozen runtime (SIGSTOP) turns /ready to 503 within the gateway's heartbeat window, on both gateways and on a
// gateway that takes its heartbeat from the runtime's hello, and new model requests fail fast with a message saying
// why; after SIGCONT all are back to 200. The same through `gust dev --heartbeat-ms`.
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixtureDir } from "../helpers/fixtures.ts";
import { freePort, startDenoGateway, type Started, startGust, tempSocket } from "../helpers/processes.ts";
import { until } from "../helpers/until.ts";

const MODEL = "tiny-mistral3";
const socket = tempSocket("liveness");
const ports = { bun: 0, deno: 0, fromRuntime: 0 };
let runtime: Started;
const gateways: Started[] = [];

beforeAll(async () => {
  // the runtime asks gateways for a 1.5 s heartbeat (a CPU runtime asks for none by default); the Bun and Deno
  // gateways set their own, the third takes the runtime's
  runtime = await startGust(
    ["runtime", "--model", fixtureDir(MODEL), "--socket", socket, "--num-blocks", "64", "--heartbeat-ms", "1500"],
    /serving/,
  );
  ports.bun = await freePort();
  ports.deno = await freePort();
  ports.fromRuntime = await freePort();
  const args = (port: number) => ["--runtime", socket, "--port", String(port), "--heartbeat-ms", "1500"];
  gateways.push(await startGust(["serve", ...args(ports.bun)], /gateway on/));
  gateways.push(await startDenoGateway(args(ports.deno)));
  gateways.push(await startGust(["serve", "--runtime", socket, "--port", String(ports.fromRuntime)], /gateway on/));
}, 90_000);
afterAll(async () => {
  runtime?.proc.kill("SIGCONT");
  for (const g of gateways) await g.stop();
  await runtime?.stop();
});

const ready = (port: number) => fetch(`http://127.0.0.1:${port}/ready`).then((r) => r.status);
const chat = (port: number) =>
  fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: MODEL, max_tokens: 2, messages: [{ role: "user", content: "hi" }] }),
  });

describe("a frozen runtime", () => {
  it("turns /ready to 503 and fails new requests fast on both gateways, and recovers after SIGCONT", async () => {
    for (const port of Object.values(ports)) {
      expect(await ready(port)).toBe(200);
      expect((await chat(port)).status).toBe(200);
    }
    runtime.proc.kill("SIGSTOP");
    try {
      for (const port of Object.values(ports)) {
        await until(async () => (await ready(port)) === 503, `/ready 503 on port ${port}`);
        const res = await chat(port);
        expect(res.status).toBe(503);
        expect((await res.json()).error.message).toContain("has not answered for");
      }
    } finally {
      runtime.proc.kill("SIGCONT");
    }
    for (const port of Object.values(ports)) {
      await until(async () => (await ready(port)) === 200, `/ready 200 on port ${port}`);
      expect((await chat(port)).status).toBe(200);
    }
  }, 60_000);
});

// `gust dev --heartbeat-ms`: the same through dev, SIGSTOP on its runtime child (frozen is not dead: no restart)
let dev: Started, devPort: number, runtimePid: number;

describe("gust dev --heartbeat-ms with a frozen runtime", () => {
  beforeAll(async () => {
    devPort = await freePort();
    const noFunctions = mkdtempSync(join(tmpdir(), "gust-dev-live-"));
    dev = await startGust(
      [
        "dev",
        "--model",
        fixtureDir(MODEL),
        "--functions",
        noFunctions,
        "--port",
        String(devPort),
        "--heartbeat-ms",
        "1500",
      ],
      /ready on/,
      90_000,
    );
    const pids = execFileSync("pgrep", ["-P", String(dev.proc.pid), "-f", "main.ts runtime"], { encoding: "utf8" });
    runtimePid = Number(pids.trim().split("\n")[0]);
  }, 120_000);
  afterAll(async () => {
    if (runtimePid) process.kill(runtimePid, "SIGCONT");
    await dev?.stop("SIGINT");
  });

  it("turns /ready to 503 and fails requests fast, then recovers after SIGCONT", async () => {
    expect(runtimePid).toBeGreaterThan(0);
    expect(await ready(devPort)).toBe(200);
    expect((await chat(devPort)).status).toBe(200);
    process.kill(runtimePid, "SIGSTOP");
    try {
      await until(async () => (await ready(devPort)) === 503, "dev's /ready 503");
      const res = await chat(devPort);
      expect(res.status).toBe(503);
      expect((await res.json()).error.message).toContain("has not answered for");
    } finally {
      process.kill(runtimePid, "SIGCONT");
    }
    await until(async () => (await ready(devPort)) === 200, "dev's /ready 200");
    expect((await chat(devPort)).status).toBe(200);
    expect(dev.output()).not.toMatch(/restart/i); // frozen is not dead: the supervisor left it alone
  }, 60_000);

  it("refuses a heartbeat that is not a whole number of ms", async () => {
    const bad = startGust(["dev", "--heartbeat-ms", "soon"], /ready on/, 30_000);
    await expect(bad).rejects.toThrow(/--heartbeat-ms must be an integer ≥ 0 \(0: no heartbeat\), got "soon"/);
  });
});
