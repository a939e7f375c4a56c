// Flags of the gateway process, shared by `gust serve` (Bun) and edge/main-deno.ts (Deno). Keys:
// GUST_API_KEYS (comma-separated) and GUST_ADMIN_KEY, or the flags.
import { joinPath } from "../../runtime/text/io.ts";
import { UsageError } from "../../runtime/text/errors.ts";
import { homedir } from "node:os";
import { parseArgs } from "node:util";
import { envVar, parseKeys } from "../options.ts";
import { readTokenFile } from "../../runtime/wire/auth.ts";
import { ROUTING_MODES, type RoutingMode } from "../runtime-pool/routing.ts";
import { IMAGE_URL_MODES, type ImageUrlMode, type ImageUrlSettings } from "../vision/url-settings.ts";
import { TOOL_CALL_SCHEMAS, type ToolCallSchemas } from "../../functions/chat/constraints.ts";

export const serveUsage = `gust serve --runtime SOCKET|tcp:HOST:PORT... [--routing prefix|least-loaded|random]
           [--auth-token-file FILE] [--port 8080] [--host 127.0.0.1] [--api-key KEY]...
           [--admin-key KEY] [--state-dir DIR] [--served-model-name NAME]...
           [--image-urls off|public|allowlist] [--image-url-allow HOST[:PORT]]... [--default-temperature T]
           [--tool-call-schemas all|strict] [--heartbeat-ms MS] [--function-wall-ms MS] [--function-allow-local]
  --runtime            repeatable: several runtimes of the same model form a pool; each request goes to the one
                       holding the longest prefix of its prompt unless it is much busier (--routing prefix, default)
  --auth-token-file    the shared secret runtimes beyond loopback ask for (their --auth-token-file)
  --served-model-name  more names the model answers to in \`model\` (besides the runtime's), listed by /v1/models
  --image-urls         public (default): fetch http(s) image URLs whose every address is public; allowlist: only
                       the --image-url-allow hosts; off: inline images only
  --image-url-allow    a host fetched even at a private address (an internal image server), on PORT or 80/443
  --default-temperature  temperature for requests that send none (default: the runtime's, 1)
  --tool-call-schemas  all (default): under tool_choice "auto", a call's arguments follow its tool's parameter
                       schema, strict or not (as llama.cpp's server); strict: only \`strict: true\` tools' schemas,
                       other calls' arguments are any JSON object (OpenAI's rule). An unsupported schema falls back
                       to any JSON object either way
  --heartbeat-ms       the runtime counts as down (503 on /ready) after this long without answering; default: what
                       the runtime asks for (gust runtime --heartbeat-ms: 10000 on a GPU, 0 = never on the CPU, where
                       a long prefill step blocks the runtime that long)
  --function-wall-ms   a function request still running this long has its isolate killed and replaced (504);
                       default 600000
  --function-allow-local  functions may name loopback and this machine's addresses in allowHosts, where the
                       admin routes and the runtime listen: for tests and development only`;

/** The gateway's request policy flags, shared by `gust serve` and `gust dev` (which passes them to its gateway). */
export const gatewayPolicyFlags = {
  "served-model-name": { type: "string", multiple: true },
  "image-urls": { type: "string" },
  "image-url-allow": { type: "string", multiple: true },
  "default-temperature": { type: "string" },
  "tool-call-schemas": { type: "string" },
  "heartbeat-ms": { type: "string" },
} as const;

export function parseServeArgs(argv: string[]) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        runtime: { type: "string", multiple: true },
        routing: { type: "string" },
        "auth-token-file": { type: "string" },
        port: { type: "string" },
        host: { type: "string" },
        "api-key": { type: "string", multiple: true },
        "admin-key": { type: "string" },
        "state-dir": { type: "string" },
        ...gatewayPolicyFlags,
        "function-wall-ms": { type: "string" },
        "function-allow-local": { type: "boolean" },
      },
      strict: true,
    }));
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\nusage: ${serveUsage}`);
  }
  if (!values.runtime?.length) {
    throw new UsageError(`--runtime is required (the socket \`gust runtime\` listens on)\nusage: ${serveUsage}`);
  }
  const port = values.port === undefined ? 8080 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--port must be an integer in [0, 65535], got "${values.port}"`);
  }
  const heartbeatMs = parseHeartbeatMs(values["heartbeat-ms"]);
  const wallText = values["function-wall-ms"];
  const wallMs = wallText === undefined ? undefined : Number(wallText);
  if (wallMs !== undefined && !(Number.isInteger(wallMs) && wallMs >= 1)) {
    throw new UsageError(`--function-wall-ms must be an integer ≥ 1 (milliseconds), got "${wallText}"`);
  }
  const apiKeys = values["api-key"] ?? parseKeys(envVar("GUST_API_KEYS"));
  if (new Set(values.runtime).size !== values.runtime.length) {
    throw new UsageError(`--runtime names the same runtime twice: ${values.runtime.join(", ")}`);
  }
  const routing = (values.routing ?? "prefix") as RoutingMode;
  if (!ROUTING_MODES.includes(routing)) {
    throw new UsageError(`--routing must be one of ${ROUTING_MODES.join(", ")}, got "${values.routing}"`);
  }
  return {
    runtime: values.runtime,
    routing,
    runtimeAuthToken: readTokenFile(values["auth-token-file"]),
    port,
    hostname: values.host,
    apiKeys,
    adminKey: values["admin-key"] ?? envVar("GUST_ADMIN_KEY") ?? null,
    stateDir: values["state-dir"] ?? joinPath(homedir(), ".gust/functions"),
    servedModelNames: checkNames(values["served-model-name"] ?? []),
    imageUrls: parseImageUrls(values["image-urls"], values["image-url-allow"] ?? []),
    ...parseDefaultTemperature(values["default-temperature"]),
    ...parseToolCallSchemas(values["tool-call-schemas"]),
    heartbeatMs,
    isolates: {
      ...(wallMs !== undefined ? { wallMs } : {}),
      ...(values["function-allow-local"] ? { allowLocalHosts: true } : {}),
    },
  };
}

/** --heartbeat-ms: an integer ≥ 0 (0: no heartbeat); absent: undefined (the gateway's default, none). */
export function parseHeartbeatMs(text: string | undefined): number | undefined {
  const heartbeatMs = text === undefined ? undefined : Number(text);
  if (heartbeatMs !== undefined && !(Number.isInteger(heartbeatMs) && heartbeatMs >= 0)) {
    throw new UsageError(`--heartbeat-ms must be an integer ≥ 0 (0: no heartbeat), got "${text}"`);
  }
  return heartbeatMs;
}

/** --default-temperature: a number ≥ 0 (0 = greedy). */
export function parseDefaultTemperature(text: string | undefined): { defaultTemperature?: number } {
  if (text === undefined) return {};
  const t = Number(text);
  if (text.trim() === "" || !Number.isFinite(t) || t < 0) {
    throw new UsageError(`--default-temperature must be a number ≥ 0 (0 = greedy), got "${text}"`);
  }
  return { defaultTemperature: t };
}

/** --tool-call-schemas: all or strict. */
export function parseToolCallSchemas(text: string | undefined): { toolCallSchemas?: ToolCallSchemas } {
  if (text === undefined) return {};
  if (!TOOL_CALL_SCHEMAS.includes(text as ToolCallSchemas)) {
    throw new UsageError(
      `--tool-call-schemas must be one of ${
        TOOL_CALL_SCHEMAS.join(", ")
      } (whose schemas hold tool-call arguments under tool_choice "auto"), got "${text}"`,
    );
  }
  return { toolCallSchemas: text as ToolCallSchemas };
}

function checkNames(names: string[]): string[] {
  const bad = names.find((n) => n.trim() === "" || n !== n.trim());
  if (bad !== undefined) {
    throw new UsageError(`--served-model-name must be a non-empty name without surrounding spaces, got "${bad}"`);
  }
  return names;
}

/** --image-urls and --image-url-allow, checked (a typo must not silently leave a host refused). */
export function parseImageUrls(mode: string | undefined, allow: string[]): ImageUrlSettings {
  const m = (mode ?? "public") as ImageUrlMode;
  if (!IMAGE_URL_MODES.includes(m)) {
    throw new UsageError(`--image-urls must be one of ${IMAGE_URL_MODES.join(", ")}, got "${mode}"`);
  }
  for (const entry of allow) {
    const hostPort = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(entry);
    const port = hostPort?.[1] === undefined ? 80 : Number(hostPort[1]);
    if (!hostPort || port < 1 || port > 65535) {
      throw new UsageError(
        `--image-url-allow takes HOST or HOST:PORT (IPv6 as [ADDR]:PORT), got "${entry}"`,
      );
    }
  }
  if (m === "off" && allow.length > 0) {
    throw new UsageError("--image-url-allow names hosts to fetch, but --image-urls off fetches none; drop one of them");
  }
  return { mode: m, allow };
}
