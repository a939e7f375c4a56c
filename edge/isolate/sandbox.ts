// What an isolate's process may do, as the Deno command line that starts it: read its own bundle and nothing else;
// no environment (the whole of it is given: Deno's cache folder and quiet output); network only to the hosts the
// function declares (allowHosts), never to loopback, where the gateway's admin routes and the runtime listen; no
// prompts (a permission not granted is refused at once); V8's heap capped at the memory limit as a backstop.
import type { SpawnOptions } from "./spawn.ts";

const LOOPBACK = ["127.0.0.1", "localhost", "[::1]", "0.0.0.0"];

export interface SandboxOptions {
  denoBin: string;
  /** host.ts, absolute. */
  hostPath: string;
  bundlePath: string;
  cacheDir: string;
  memoryMiB: number;
  /** Hosts (each with an optional :port) the function may reach; empty: no network. */
  allowHosts: readonly string[];
}

/** The hosts a function declares, checked: a list of host names, each with an optional :port. */
export function checkAllowHosts(hosts: unknown): string[] {
  if (!Array.isArray(hosts) || !hosts.every((h) => typeof h === "string" && /^[A-Za-z0-9.-]+(:\d+)?$/.test(h))) {
    throw new Error("allowHosts must be a list of host names, each with an optional :port");
  }
  return hosts;
}

export function sandboxCommand(o: SandboxOptions): Pick<SpawnOptions, "cmd" | "args" | "env"> {
  const permissions = [`--allow-read=${o.bundlePath}`];
  if (o.allowHosts.length > 0) {
    permissions.push(`--allow-net=${o.allowHosts.join(",")}`, `--deny-net=${LOOPBACK.join(",")}`);
  }
  return {
    cmd: o.denoBin,
    args: [
      "run",
      "--quiet",
      "--no-prompt",
      "--no-config",
      "--no-lock",
      `--v8-flags=--max-old-space-size=${o.memoryMiB}`, // a backstop: the resident size is checked first
      ...permissions,
      o.hostPath,
      o.bundlePath,
      o.allowHosts.join(","), // for the isolate's refusals to name them (fetch-refusal.ts)
    ],
    env: { DENO_DIR: o.cacheDir, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
  };
}
