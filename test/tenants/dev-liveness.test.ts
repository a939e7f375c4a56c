// `gust dev --heartbeat-ms`: a frozen runtime (SIGSTOP on dev's runtime child) turns dev's /ready to 503 within the
// heartbeat window and new model requests fail fast saying why; after SIGCONT both are back to 200, with no restart.
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixtureDir } from "../helpers/fixtures.ts";
import { freePort, type Started, startGust } from "../helpers/processes.ts";

const MODEL = "tiny-mistral3";
let dev: Started, port: number, runtimePid: number;

beforeAll(async () => {
  port = await freePort();
  const noFunctions = mkdtempSync(join(tmpdir(), "gust-dev-live-"));
  dev = await startGust(
    ["dev", "--model", fixtureDir(MODEL), "--functions", noFunctions, "--port", String(port), "--heartbeat-ms", "1500"],
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

const ready = () => fetch(`http://127.0.0.1:${port}/ready`).then((r) => r.status);
const chat = () =>
  fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: MODEL, max_tokens: 2, messages: [{ role: "user", content: "hi" }] }),
  });

async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 100));
}

describe("gust dev --heartbeat-ms with a frozen runtime", () => {
  it("turns /ready to 503 and fails requests fast, then recovers after SIGCONT", async () => {
    expect(runtimePid).toBeGreaterThan(0);
    expect(await ready()).toBe(200);
    expect((await chat()).status).toBe(200);
    process.kill(runtimePid, "SIGSTOP");
    try {
      await until(async () => (await ready()) === 503);
      const res = await chat();
      expect(res.status).toBe(503);
      expect((await res.json()).error.message).toContain("has not answered for");
    } finally {
      process.kill(runtimePid, "SIGCONT");
    }
    await until(async () => (await ready()) === 200);
    expect((await chat()).status).toBe(200);
    expect(dev.output()).not.toMatch(/restart/i); // frozen is not dead: the supervisor left it alone
  }, 60_000);

  it("refuses a heartbeat that is not a whole number of ms", async () => {
    const bad = startGust(["dev", "--heartbeat-ms", "soon"], /ready on/, 30_000);
    await expect(bad).rejects.toThrow(/--heartbeat-ms must be an integer ≥ 0 \(0: no heartbeat\), got "soon"/);
  });
});
