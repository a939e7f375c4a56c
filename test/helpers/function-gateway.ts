// A real gateway (Bun or Deno) with no runtime behind it, for tests of how functions are served: functions that do
// not touch the model answer without one. Deploys bundle a source text the way `gust deploy` does.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundleFunction } from "../../edge/functions/bundle.ts";
import { metricSample } from "./metrics.ts";
import { startDenoGateway, type Started, startGust } from "./processes.ts";

export type GatewayKind = "bun" | "deno";
export const ADMIN_KEY = "test-admin-key";

export interface FunctionGateway {
  base: string;
  gateway: Started;
  stateDir: string;
  /** Bundles `source` (a function module as a user writes it) and deploys it; returns the response. */
  deploy(name: string, source: string, headers?: Record<string, string>): Promise<Response>;
  /** Deploys each of `sources` (name → source); throws naming the first that is not accepted. */
  deployAll(sources: Record<string, string>): Promise<void>;
  running(): Promise<number>;
  /** Polls until `gust_requests_running` is 0 (the test's own timeout bounds it). */
  drained(): Promise<void>;
  stop(): Promise<void>;
}

export async function startFunctionGateway(
  kind: GatewayKind,
  port: number,
  extraArgs: string[] = [],
  env?: Record<string, string>,
  /** A state folder to start from (a restart); default a new one. */
  existingStateDir?: string,
): Promise<FunctionGateway> {
  const stateDir = existingStateDir ?? mkdtempSync(join(tmpdir(), `gust-fngw-${kind}-`));
  const src = mkdtempSync(join(tmpdir(), `gust-fnsrc-${kind}-`));
  const args = [
    "--runtime",
    join(src, "no-runtime.sock"),
    "--port",
    String(port),
    "--state-dir",
    stateDir,
    "--admin-key",
    ADMIN_KEY,
    ...extraArgs,
  ];
  const gateway = kind === "bun"
    ? await startGust(["serve", ...args], /gateway on/, 60_000, env)
    : await startDenoGateway(args, 60_000, env);
  const base = `http://127.0.0.1:${port}`;
  // a gateway started with --api-key wants it on every request, these included
  const apiKey = extraArgs.includes("--api-key") ? extraArgs[extraArgs.indexOf("--api-key") + 1] : null;
  const auth: Record<string, string> = apiKey ? { authorization: `Bearer ${apiKey}` } : {};
  const running = async () =>
    metricSample(await (await fetch(`${base}/metrics`, { headers: auth })).text(), "gust_requests_running");
  const deploy = async (name: string, source: string, headers: Record<string, string> = {}) => {
    const file = join(src, `${name}.ts`);
    writeFileSync(file, source);
    return await fetch(`${base}/admin/functions/${name}`, {
      method: "POST",
      body: await bundleFunction(file),
      headers: { "content-type": "application/javascript", "x-admin-key": ADMIN_KEY, ...auth, ...headers },
    });
  };
  return {
    base,
    gateway,
    stateDir,
    deploy,
    async deployAll(sources) {
      for (const [name, source] of Object.entries(sources)) {
        const res = await deploy(name, source);
        if (res.status !== 200) throw new Error(`deploying ${name}: ${res.status} ${await res.text()}`);
      }
    },
    running,
    async drained() {
      while ((await running()) !== 0) await new Promise((r) => setTimeout(r, 50));
    },
    stop: async () => void (await gateway.stop()),
  };
}
