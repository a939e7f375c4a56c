// The runtime on a network: TCP beyond loopback only with a shared token, checked at hello; a wrong or missing token
// is refused and logged on both sides. Then three gust-mini runtimes in network namespaces of their own (ip netns,
// veth pairs), reached over TCP with the token by one gateway: skipped, with the reason printed, where this machine
// does not let the test make namespaces (it needs CAP_NET_ADMIN).
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { defaultModelDir } from "../../runtime/config/default-model.ts";
import { bunBin, type Started, startGust, startProcess } from "../helpers/processes.ts";
import { repoRoot } from "../helpers/fixtures.ts";
import { until } from "../helpers/until.ts";

const dir = mkdtempSync(join(tmpdir(), "gust-net-"));
const tokenFile = join(dir, "token"), wrongFile = join(dir, "wrong");
writeFileSync(tokenFile, "0123456789abcdef0123456789abcdef\n");
writeFileSync(wrongFile, "fedcba9876543210fedcba9876543210\n");
const modelArgs = ["--model", defaultModelDir, "--num-blocks", "128", "--max-num-seqs", "8", "--threads", "1"];
const urlOf = (gateway: Started) => /gateway on (http:\/\/\S+)/.exec(gateway.output())![1];
const whereOf = (runtime: Started) => /serving \S+ on (tcp:\S+) /.exec(runtime.output())![1];

async function ask(base: string, content: string): Promise<number> {
  const res = await fetch(`${base}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "gust-mini", messages: [{ role: "user", content }], max_tokens: 2 }),
  });
  await res.text();
  return res.status;
}

const started: Started[] = [];
afterAll(async () => {
  for (const p of started.reverse()) await p.stop("SIGKILL");
});

describe("gust runtime beyond loopback", () => {
  it("refuses to start on 0.0.0.0 without --auth-token-file, naming the flag", () => {
    let out = "", status = 0;
    try {
      execFileSync(bunBin, [
        join(repoRoot, "runtime/cli/main.ts"),
        "runtime",
        ...modelArgs,
        "--host",
        "0.0.0.0",
        "--port",
        "0",
      ], {
        stdio: "pipe",
      });
    } catch (err) {
      const e = err as { status: number; stderr: Buffer };
      status = e.status;
      out = e.stderr.toString();
    }
    expect(status).toBe(2);
    expect(out).toMatch(/--host 0\.0\.0\.0 listens beyond loopback.*--auth-token-file/);
  });

  it("takes a gateway with the token; refuses and logs a wrong or missing one", async () => {
    const runtime = await startGust(
      ["runtime", ...modelArgs, "--port", "0", "--auth-token-file", tokenFile],
      /serving/,
    );
    started.push(runtime);
    const at = whereOf(runtime);
    const good = await startGust(
      ["serve", "--runtime", at, "--auth-token-file", tokenFile, "--port", "0"],
      /gateway on/,
    );
    started.push(good);
    expect(good.output()).toMatch(/connected, model gust-mini/);
    expect(await ask(urlOf(good), "Hello over TCP.")).toBe(200);

    const wrong = await startGust(
      ["serve", "--runtime", at, "--auth-token-file", wrongFile, "--port", "0"],
      /gateway on/,
    );
    started.push(wrong);
    const missing = await startGust(["serve", "--runtime", at, "--port", "0"], /gateway on/);
    started.push(missing);
    for (const gw of [wrong, missing]) {
      expect(gw.output()).toMatch(/refused the connection: this runtime requires the shared token/);
      expect(await ask(urlOf(gw), "Hello?")).toBe(503);
    }
    await until(() => /no auth frame within/.test(runtime.output()), "the runtime's log", 10_000, runtime.output);
    expect(runtime.output()).toMatch(/runtime: refused a connection from 127\.0\.0\.1: wrong auth token/);
    expect(runtime.output()).toMatch(/runtime: refused a connection from 127\.0\.0\.1: no auth frame within 5 s/);
  }, 90_000);
});

/** Why this machine cannot make network namespaces, or null when it can. */
function netnsUnavailable(): string | null {
  const probe = `gust-probe-${process.pid}`;
  try {
    execFileSync("ip", ["netns", "add", probe], { stdio: "pipe" });
    execFileSync("ip", ["netns", "del", probe], { stdio: "pipe" });
    return null;
  } catch (err) {
    return `ip netns add failed (${(err as { stderr?: Buffer }).stderr?.toString().trim() || (err as Error).message})`;
  }
}

const why = netnsUnavailable();
if (why) console.log(`runtime-network: the network-namespace test is skipped: ${why}; it needs root or CAP_NET_ADMIN`);

describe.skipIf(why !== null)("three runtimes in network namespaces of their own, over TCP with the token", () => {
  const names = [1, 2, 3].map((i) => `gust-${process.pid}-${i}`);
  const ip = (cmd: string[], ns?: string) =>
    execFileSync("ip", ns ? ["netns", "exec", ns, "ip", ...cmd] : cmd, { stdio: "pipe" });
  afterAll(() => {
    for (const ns of names) {
      try {
        ip(["netns", "del", ns]); // takes its end of the veth pair, and so the pair, with it
      } catch { /* not made */ }
    }
  });

  it("one gateway reaches each over its veth pair; a wrong token is refused there too", async () => {
    const subnet = 100 + (process.pid % 100);
    const addrs = names.map((ns, i) => {
      const host = `gh${process.pid % 100000}${i}`, peer = `gp${process.pid % 100000}${i}`;
      ip(["netns", "add", ns]);
      ip(["link", "add", host, "type", "veth", "peer", "name", peer]);
      ip(["link", "set", peer, "netns", ns]);
      ip(["addr", "add", `10.${subnet}.${i}.1/24`, "dev", host]);
      ip(["link", "set", host, "up"]);
      ip(["addr", "add", `10.${subnet}.${i}.2/24`, "dev", peer], ns);
      ip(["link", "set", peer, "up"], ns);
      return `10.${subnet}.${i}.2`;
    });
    const runtimes = await Promise.all(names.map((ns, i) =>
      startProcess(
        "ip",
        [
          "netns",
          "exec",
          ns,
          bunBin,
          join(repoRoot, "runtime/cli/main.ts"),
          "runtime",
          ...modelArgs,
          "--host",
          addrs[i],
          "--port",
          "7000",
          "--auth-token-file",
          tokenFile,
        ],
        /serving/,
        60_000,
      )
    ));
    started.push(...runtimes);
    const targets = addrs.flatMap((a) => ["--runtime", `tcp:${a}:7000`]);
    const gw = await startGust(["serve", ...targets, "--auth-token-file", tokenFile, "--port", "0"], /gateway on/);
    started.push(gw);
    const base = urlOf(gw);
    await until(
      () => (gw.output().match(/connected to runtime tcp:/g) ?? []).length === 3,
      "three runtimes",
      10_000,
      gw.output,
    );
    for (let i = 0; i < 9; i++) expect(await ask(base, `${i} from another namespace.`)).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    for (const a of addrs) {
      expect(metrics).toMatch(new RegExp(`gust_pool_requests_total\\{runtime="tcp:${a}:7000"\\} [1-9]`));
    }
    const wrong = await startGust([
      "serve",
      "--runtime",
      `tcp:${addrs[0]}:7000`,
      "--auth-token-file",
      wrongFile,
      "--port",
      "0",
    ], /gateway on/);
    started.push(wrong);
    expect(wrong.output()).toMatch(/refused the connection/);
    await until(() => /wrong auth token/.test(runtimes[0].output()), "the refusal log", 10_000, runtimes[0].output);
    expect(runtimes[0].output()).toMatch(
      new RegExp(`refused a connection from 10\\.${subnet}\\.0\\.1: wrong auth token`),
    );
  }, 120_000);
});
