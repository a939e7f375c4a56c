// `gust runtime`: the persistent model process. Loads the model once, serves gateways over a Unix socket
// (or loopback TCP) until SIGTERM/SIGINT, then drains: no new requests, in-flight ones get a grace period.
import { ModelHost } from "../server/model-host.ts";
import { readTokenFile } from "../wire/auth.ts";
import { RuntimeServer } from "../server/runtime-server.ts";
import { openBackend, parseBackendFlag } from "./backend-choice.ts";
import { kvCacheDtypeUsage, parseKvCacheDtypeFlag } from "./kv-flags.ts";
import { enforceEagerOption, enforceEagerUsage } from "./eager-flag.ts";
import { gib } from "../engine/pool-size.ts";
import { parseFlags, parseFloatArg, parseIntArg, UsageError } from "./usage-error.ts";
import { parseTensorParallel, tensorParallelOptions, tensorParallelUsage } from "./tensor-parallel-flag.ts";

export const runtimeUsage = `gust runtime --model DIR [--socket PATH | --port N [--host ADDR] [--auth-token-file FILE]]
             [--served-model-name NAME]... [--max-num-seqs N]
             [--max-batched-tokens N] [--max-model-len N] [--kv-memory-fraction F] [--gpu-memory-utilization F] [--num-blocks N]
             [--grace-ms N] [--draft DIR [--spec-tokens K] [--spec-max-batch B] [--spec-min-tokens-per-step X]]
             [--text-only] [--backend auto|cpu|cuda] [--threads N] [--heartbeat-ms MS] ${tensorParallelUsage}
             [--kv-cache-dtype ${kvCacheDtypeUsage}] ${enforceEagerUsage}`;

export async function runtimeCommand(argv: string[]): Promise<string> {
  const values = parseFlags(argv, {
    model: { type: "string" },
    socket: { type: "string" },
    port: { type: "string" },
    host: { type: "string" },
    "auth-token-file": { type: "string" },
    "served-model-name": { type: "string", multiple: true },
    "max-num-seqs": { type: "string" },
    "max-batched-tokens": { type: "string" },
    "max-model-len": { type: "string" },
    "kv-memory-fraction": { type: "string" },
    "gpu-memory-utilization": { type: "string" },
    "num-blocks": { type: "string" },
    "grace-ms": { type: "string" },
    backend: { type: "string" },
    "heartbeat-ms": { type: "string" },
    threads: { type: "string" },
    draft: { type: "string" },
    "spec-tokens": { type: "string" },
    "spec-max-batch": { type: "string" },
    "spec-min-tokens-per-step": { type: "string" },
    "text-only": { type: "boolean" },
    ...tensorParallelOptions,
    "kv-cache-dtype": { type: "string" },
    ...enforceEagerOption,
  }, runtimeUsage);
  if (!values.model) throw new UsageError(`--model DIR is required\nusage: ${runtimeUsage}`);
  if (values.socket && values.port) throw new UsageError("give --socket or --port, not both");
  const listen = listenOptions(values);
  const backendChoice = parseBackendFlag(values.backend);
  const kvCacheDtype = parseKvCacheDtypeFlag(values["kv-cache-dtype"]);
  const fraction = values["kv-memory-fraction"] === undefined
    ? undefined
    : parseFloatArg("kv-memory-fraction", values["kv-memory-fraction"], 0.5);
  if (fraction !== undefined && !(fraction > 0 && fraction <= 0.95)) {
    throw new UsageError("--kv-memory-fraction must be in (0, 0.95]");
  }
  const utilization = values["gpu-memory-utilization"] === undefined
    ? undefined
    : parseFloatArg("gpu-memory-utilization", values["gpu-memory-utilization"], 0.9);
  if (utilization !== undefined && !(utilization > 0 && utilization <= 1)) {
    throw new UsageError(`--gpu-memory-utilization must be in (0, 1], got ${utilization}`);
  }
  const backend = openBackend(backendChoice, { numThreads: parseIntArg("threads", values.threads, 0) });
  const tensorParallel = parseTensorParallel(values);
  let server: RuntimeServer | undefined;
  // a follower rank died: its shard is gone, so no request can finish; say which rank, end the running
  // requests with that message, and exit non-zero (gateways answer 503 until a restarted runtime is back)
  const onFollowerExit = (message: string) => {
    process.stderr.write(`gust runtime: ${message}; failing the running requests and exiting\n`);
    server?.failAllRequests(`The model runtime lost ${message}. Retry once it is restarted.`);
    // close() ends each connection after its queued frames (those errors) are written
    const exit = () => process.exit(1);
    if (server) void server.close().then(exit, exit);
    setTimeout(exit, 5_000).unref();
  };
  const host = await ModelHost.open(backend, {
    tensorParallel,
    onFollowerExit,
    modelDir: values.model,
    ...servedNames(values["served-model-name"]),
    maxNumSeqs: parseIntArg("max-num-seqs", values["max-num-seqs"], 64, 1),
    maxBatchedTokens: parseIntArg("max-batched-tokens", values["max-batched-tokens"], 2048, 1),
    maxModelLen: values["max-model-len"] === undefined
      ? undefined
      : parseIntArg("max-model-len", values["max-model-len"], 0, 1),
    numBlocks: values["num-blocks"] === undefined ? undefined : parseIntArg("num-blocks", values["num-blocks"], 0, 1),
    kvMemoryFraction: fraction,
    gpuMemoryUtilization: utilization,
    kvCacheDtype,
    enforceEager: values["enforce-eager"] ?? false,
    textOnly: values["text-only"] ?? false,
    draftDir: values.draft,
    specOptions: {
      ...(values["spec-tokens"] ? { k: parseIntArg("spec-tokens", values["spec-tokens"], 3, 1) } : {}),
      ...(values["spec-max-batch"] ? { maxBatch: parseIntArg("spec-max-batch", values["spec-max-batch"], 16, 1) } : {}),
      ...(values["spec-min-tokens-per-step"]
        ? { minTokensPerStep: parseFloatArg("spec-min-tokens-per-step", values["spec-min-tokens-per-step"], 1.2) }
        : {}),
    },
  });
  // the heartbeat gateways watch this runtime with (a gateway's own --heartbeat-ms wins): a GPU decode step is
  // milliseconds and a 2,048-token prefill chunk at a long context a few seconds, so 10 s of silence means frozen; a
  // CPU prefill step can take longer than any sensible bound, so CPU runtimes ask for none by default
  const heartbeatMs = parseIntArg("heartbeat-ms", values["heartbeat-ms"], backend.kind === "cuda" ? 10_000 : 0);
  server = new RuntimeServer(host, { ...listen, heartbeatMs });
  const where = server.listen();
  const s = server.stats();
  process.stderr.write(
    `gust runtime: serving ${host.modelId} on ${where} (${backend.kind} backend${
      tensorParallel > 1 ? `, tensor parallel ${tensorParallel}` : ""
    }, ${s.kvBlocksTotal} KV blocks of ${host.cache.blockSize} tokens in ${host.cache.dtype}, context ${host.engine.maxModelLen}${
      host.speculator ? `, EAGLE k=${host.speculator.options.k}` : ""
    }${host.vision ? ", vision" : ""})\n`,
  );
  const m = host.memory;
  process.stderr.write(
    `gust runtime: weights ${gib(m.weightBytes)}, KV ${m.kvBytesPerToken} bytes per token (${host.cache.dtype}), ` +
      `${m.poolTokens} tokens of context fit in the pool\n`,
  );
  if (host.contextCappedByPool) {
    process.stderr.write(
      `gust runtime: the KV pool holds ${
        s.kvBlocksTotal * host.cache.blockSize
      } tokens, less than the model's context of ${host.loaded.model.maxPositions}; serving a context of ${host.engine.maxModelLen} (free memory, lower --max-num-seqs, use --kv-cache-dtype fp8 or raise --kv-memory-fraction / --gpu-memory-utilization for more)\n`,
    );
  }
  const graceMs = parseIntArg("grace-ms", values["grace-ms"], 10_000);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      process.stderr.write(`gust runtime: ${signal}, draining (grace ${graceMs} ms)\n`);
      server.drain(graceMs).then(resolve, resolve);
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
  host.dispose();
  process.stderr.write("gust runtime: stopped\n");
  return "";
}

/** Where the runtime listens. Its protocol hands out the model and takes work from anyone who connects, so TCP
 * beyond loopback needs the shared token (checked at hello); without one such a bind is refused here, at start. */
export function listenOptions(values: {
  socket?: string;
  port?: string;
  host?: string;
  "auth-token-file"?: string;
}): { socketPath?: string; port?: number; hostname?: string; authToken?: string } {
  if (values.host !== undefined && !values.port) throw new UsageError("--host needs --port (it is a TCP address)");
  let authToken;
  try {
    authToken = readTokenFile(values["auth-token-file"]);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const hostname = values.host ?? "127.0.0.1";
  if (values.port && !isLoopbackHost(hostname) && authToken === undefined) {
    throw new UsageError(
      `--host ${hostname} listens beyond loopback, where anyone who connects could use the model: give ` +
        "--auth-token-file FILE (a shared secret, at least 16 characters; gateways pass the same file)",
    );
  }
  return {
    socketPath: values.socket ?? (values.port ? undefined : "/tmp/gust-runtime.sock"),
    port: values.port ? parseIntArg("port", values.port, 0, 0) : undefined, // 0: any free port (printed)
    hostname,
    authToken,
  };
}

function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** vLLM's --served-model-name, repeatable: the first name is the model's id in responses and /v1/models, the others
 * are accepted in `model` and listed too. Without it the model is named after its directory. */
export function servedNames(names: string[] | undefined): { modelId?: string; aliases?: string[] } {
  if (!names || names.length === 0) return {};
  const bad = names.find((n) => n.trim() === "" || n !== n.trim());
  if (bad !== undefined) {
    throw new UsageError(`--served-model-name must be a non-empty name without surrounding spaces, got "${bad}"`);
  }
  return { modelId: names[0], aliases: names.slice(1) };
}
