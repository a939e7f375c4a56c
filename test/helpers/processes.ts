// Real child processes for end-to-end tests: the runtime (and later the gateway), started with the
// same CLI a user runs, stopped with SIGTERM.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GATEWAY_BUN_ENV } from "../../edge/bun-heap.ts";
import { DENO_GATEWAY_V8_FLAG } from "../../edge/deno-heap.ts";
import { repoRoot } from "./fixtures.ts";

export const bunBin = join(repoRoot, "node_modules", ".bin", "bun");

export interface Started {
  proc: ChildProcess;
  output: () => string;
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

export const denoBin = join(repoRoot, "node_modules", ".bin", "deno");

/** Starts `gust <args>` and resolves once a stderr/stdout line matches `ready`. */
export function startGust(
  args: string[],
  ready: RegExp,
  timeoutMs = 30_000,
  env?: Record<string, string>,
): Promise<Started> {
  // a gateway starts as the deployment unit starts it (edge/bun-heap.ts)
  const withDefaults = args[0] === "serve" ? { ...GATEWAY_BUN_ENV, ...env } : env;
  return startProcess(bunBin, [join(repoRoot, "runtime/cli/main.ts"), ...args], ready, timeoutMs, withDefaults);
}

/** The gateway on Deno (edge/main-deno.ts) with `gust serve`'s flags, started as a deployment starts it (with its V8
 * flag, edge/deno-heap.ts). */
export function startDenoGateway(
  args: string[],
  timeoutMs = 60_000,
  env?: Record<string, string>,
): Promise<Started> {
  return startProcess(
    denoBin,
    ["run", "-A", DENO_GATEWAY_V8_FLAG, join(repoRoot, "edge/main-deno.ts"), ...args],
    /gateway on/,
    timeoutMs,
    env,
  );
}

/** Starts `cmd` (with `env` added to this process's environment) and resolves once its output matches `ready`. */
export function startProcess(
  cmd: string,
  args: string[],
  ready: RegExp,
  timeoutMs = 30_000,
  env?: Record<string, string>,
): Promise<Started> {
  const proc = spawn(cmd, args, {
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "pipe"],
    ...(env ? { env: { ...process.env, ...env } } : {}),
  });
  let out = "";
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  const started: Started = {
    proc,
    output: () => out,
    stop: async (signal = "SIGTERM") => {
      if (proc.exitCode === null) proc.kill(signal);
      return exited;
    },
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`${args.join(" ")} did not become ready in ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve(started);
      }
    };
    proc.stdout!.on("data", onData);
    proc.stderr!.on("data", onData);
    proc.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${args.join(" ")} exited with ${code} before it was ready:\n${out}`));
    });
  });
}

export function tempSocket(name: string): string {
  return join(mkdtempSync(join(tmpdir(), "gust-")), `${name}.sock`);
}

/** A TCP port free on loopback now: e2e suites run side by side, so fixed port numbers collide. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
