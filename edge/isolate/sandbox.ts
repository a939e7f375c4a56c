// What an isolate's process may do, as the Deno command line that starts it: read its own bundle and nothing else;
// no environment (the whole of it is given: Deno's cache folder and quiet output); network only to the hosts the
// function declares (allowHosts), never to loopback, where the gateway's admin routes and the runtime listen; no
// prompts (a permission not granted is refused at once); V8's heap capped at the memory limit as a backstop.
import { networkInterfaces } from "node:os";
import type { SpawnOptions } from "./spawn.ts";

const LOOPBACK = ["127.0.0.1", "localhost", "[::1]", "0.0.0.0"];

/** This machine's own addresses: a gateway bound to 0.0.0.0 answers on each of them as on loopback. */
function ownAddresses(): string[] {
  return Object.values(networkInterfaces()).flat().flatMap((a) =>
    a ? [a.family === "IPv6" ? `[${a.address.replace(/%.*$/, "")}]` : a.address] : []
  );
}

/** True for a host a function must not name: loopback (127.0.0.0/8, localhost, *.localhost), 0.0.0.0, or one of
 * this machine's own addresses, where the gateway's admin routes and the runtime listen. */
function isLocalHost(host: string, own: readonly string[]): boolean {
  const h = host.toLowerCase();
  return h === "localhost" || h.endsWith(".localhost") || h === "0.0.0.0" || /^127\.\d+\.\d+\.\d+$/.test(h) ||
    own.includes(h);
}

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

/** The hosts a function declares, checked: a list of host names, each with an optional :port, none of them local
 * unless the operator allows it (`gust serve --function-allow-local`, for tests and development). */
export function checkAllowHosts(hosts: unknown, allowLocal = false): string[] {
  if (!Array.isArray(hosts) || !hosts.every((h) => typeof h === "string" && /^[A-Za-z0-9.-]+(:\d+)?$/.test(h))) {
    throw new Error("allowHosts must be a list of host names, each with an optional :port");
  }
  if (!allowLocal) {
    const own = ownAddresses();
    const local = hosts.find((h: string) => isLocalHost(h.replace(/:\d+$/, ""), own));
    if (local !== undefined) {
      throw new Error(
        `allowHosts names ${local}: loopback and this machine's own addresses are closed to functions (the ` +
          "gateway's admin routes and the runtime listen there); an operator can open them with " +
          "gust serve --function-allow-local (tests and development only)",
      );
    }
  }
  return hosts;
}

export function sandboxCommand(o: SandboxOptions): Pick<SpawnOptions, "cmd" | "args" | "env"> {
  const permissions = [`--allow-read=${o.bundlePath}`];
  if (o.allowHosts.length > 0) {
    const denied = [...LOOPBACK, ...ownAddresses()];
    permissions.push(`--allow-net=${o.allowHosts.join(",")}`, `--deny-net=${denied.join(",")}`);
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
