// Flags of the gateway process, shared by `gust serve` (Bun) and edge/main-deno.ts (Deno). Keys:
// GUST_API_KEYS (comma-separated) and GUST_ADMIN_KEY, or the flags.
import { joinPath } from "../../runtime/text/io.ts";
import { UsageError } from "../../runtime/text/errors.ts";
import { GC_THREADS_MODES, type GcThreadsMode } from "../helper-threads.ts";
import { parseKeys } from "../options.ts";
import { homeDir, platformEnv } from "../platform/system.ts";
import { parseFlags } from "./flags.ts";

export const serveUsage = `gust serve --runtime SOCKET|tcp:HOST:PORT [--port 8080] [--host 127.0.0.1] [--api-key KEY]...
           [--admin-key KEY] [--state-dir DIR] [--gc-threads normal|idle]
  --gc-threads idle (Deno only): V8's collector helper threads under SCHED_IDLE, so a waking event loop goes first;
                    only where the gateway's cores are its own (edge/helper-threads.ts)`;

export function parseServeArgs(argv: string[]) {
  let values;
  try {
    values = parseFlags(argv, {
      runtime: { type: "string" },
      port: { type: "string" },
      host: { type: "string" },
      "api-key": { type: "string", multiple: true },
      "admin-key": { type: "string" },
      "state-dir": { type: "string" },
      "gc-threads": { type: "string" },
    });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\nusage: ${serveUsage}`);
  }
  if (!values.runtime) {
    throw new UsageError(`--runtime is required (the socket \`gust runtime\` listens on)\nusage: ${serveUsage}`);
  }
  const port = values.port === undefined ? 8080 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--port must be an integer in [0, 65535], got "${values.port}"`);
  }
  const gcThreads = (values["gc-threads"] ?? "normal") as GcThreadsMode;
  if (!GC_THREADS_MODES.includes(gcThreads)) {
    throw new UsageError(`--gc-threads must be one of ${GC_THREADS_MODES.join(", ")}, got "${values["gc-threads"]}"`);
  }
  const apiKeys = values["api-key"] ?? parseKeys(platformEnv("GUST_API_KEYS"));
  return {
    runtime: values.runtime,
    port,
    hostname: values.host,
    apiKeys,
    adminKey: values["admin-key"] ?? platformEnv("GUST_ADMIN_KEY") ?? null,
    stateDir: values["state-dir"] ?? joinPath(homeDir(), ".gust/functions"),
    gcThreads,
  };
}
