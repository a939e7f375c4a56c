// `gust dev`: runtime + gateway for local work. The runtime is a child process (the model stays loaded);
// the gateway runs here on Bun or as a Deno child; every *.ts function in --functions is bundled and
// deployed on start and again on each save, without touching the runtime.
import { serveOnBun } from "../../edge/bun.ts";
import { DENO_GATEWAY_V8_FLAG } from "../../edge/deno-heap.ts";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, statSync, watch } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { bundleFunction } from "../../edge/functions/bundle.ts";
import { startGateway } from "../../edge/gateway.ts";
import { parseKeys } from "../../edge/options.ts";
import { defaultDraftDir, defaultModelDir, defaultModelNote } from "../config/default-model.ts";
import {
  gatewayPolicyFlags,
  parseDefaultTemperature,
  parseHeartbeatMs,
  parseImageUrls,
  parseToolCallSchemas,
} from "../../edge/cli/serve-args.ts";
import { servedNames } from "./runtime-command.ts";
import { parseTensorParallel, tensorParallelOptions } from "./tensor-parallel-flag.ts";
import { kvCacheDtypeUsage, parseKvCacheDtypeFlag } from "./kv-flags.ts";
import { enforceEagerOption, enforceEagerUsage } from "./eager-flag.ts";
import { Supervised } from "./supervise.ts";
import { parseReplicas, replicaLayout, startReplicas } from "./dev-replicas.ts";
import { parseFlags, parseIntArg, UsageError } from "./usage-error.ts";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const bin = (name: string) => join(repoRoot, "node_modules", ".bin", name);
export const devUsage = `gust dev [--model DIR] [--draft DIR] [--functions DIR] [--port 8080] [--gateway bun|deno]
         [--served-model-name NAME]... [--image-urls off|public|allowlist] [--image-url-allow HOST[:PORT]]...
         [--default-temperature T] [--tool-call-schemas all|strict] [--heartbeat-ms MS]
         [--tensor-parallel N | --tp N | --replicas N] [--kv-cache-dtype ${kvCacheDtypeUsage}]
         ${enforceEagerUsage}`;

/** Starts a child and resolves when a line matches `ready` (rejects if it exits first). */
function startChild(
  cmd: string,
  args: string[],
  ready: RegExp,
  label: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"], env });
    let seen = "";
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      process.stderr.write(
        text.split("\n").filter((l) => l && !l.includes("npm warn")).map((l) => `[${label}] ${l}\n`).join(""),
      );
      seen += text;
      if (ready.test(seen)) resolve(child);
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`${label} exited with status ${code} before it was ready`)));
  });
}

/** Function entry files of a folder: NAME.ts, or NAME/index.ts. Tests (*.test.ts) are skipped. */
export function functionEntries(dir: string): { name: string; file: string }[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) {
      return existsSync(join(path, "index.ts")) ? [{ name: entry, file: join(path, "index.ts") }] : [];
    }
    return entry.endsWith(".ts") && !entry.endsWith(".test.ts") ? [{ name: basename(entry, ".ts"), file: path }] : [];
  });
}

/** What the deployer sends: the admin key, and an API key when the gateway requires one for every route. */
interface DevKeys {
  admin: string;
  api: string | undefined;
}

/** The admin key of this `gust dev`: GUST_ADMIN_KEY, else a fresh random one (admin routes are never keyless). */
export function devAdminKey(env: NodeJS.ProcessEnv): { key: string; generated: boolean } {
  const given = env.GUST_ADMIN_KEY?.trim();
  if (given) return { key: given, generated: false };
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return { key: `gust-admin-${[...bytes].map((b) => b.toString(16).padStart(2, "0")).join("")}`, generated: true };
}

async function deployAll(dir: string, base: string, keys: DevKeys): Promise<void> {
  for (const { name, file } of functionEntries(dir)) {
    try {
      const bundle = await bundleFunction(file);
      const res = await fetch(`${base}/admin/functions/${name}`, {
        method: "POST",
        body: bundle,
        headers: {
          "content-type": "application/javascript",
          "x-admin-key": keys.admin,
          ...(keys.api ? { authorization: `Bearer ${keys.api}` } : {}),
        },
      });
      const body = (await res.json()) as { version?: number; error?: { message: string } };
      process.stderr.write(
        res.ok
          ? `gust dev: deployed ${name} v${body.version} → ${base}/fn/${name}/\n`
          : `gust dev: ${name} not deployed: ${body.error?.message}\n`,
      );
    } catch (err) {
      process.stderr.write(`gust dev: ${name} not deployed: ${(err as Error).message}\n`);
    }
  }
}

export async function devCommand(argv: string[]): Promise<string> {
  const values = parseFlags(argv, {
    model: { type: "string" },
    draft: { type: "string" },
    functions: { type: "string" },
    port: { type: "string" },
    gateway: { type: "string" },
    ...gatewayPolicyFlags,
    ...tensorParallelOptions,
    replicas: { type: "string" },
    "kv-cache-dtype": { type: "string" },
    ...enforceEagerOption,
  }, devUsage);
  const gatewayKind = values.gateway ?? "bun";
  if (gatewayKind !== "bun" && gatewayKind !== "deno") {
    throw new UsageError(`--gateway must be bun or deno, got "${values.gateway}"`);
  }
  const port = parseIntArg("port", values.port, 8080);
  const names = values["served-model-name"] ?? [];
  servedNames(names); // checked here so a bad name is a usage error, not a runtime that fails to start
  const imageUrls = parseImageUrls(values["image-urls"], values["image-url-allow"] ?? []);
  const temperature = parseDefaultTemperature(values["default-temperature"]);
  const toolCallSchemas = parseToolCallSchemas(values["tool-call-schemas"]);
  // absent: the runtime's own (none on the CPU, where one long prefill step keeps it from answering)
  const heartbeatMs = parseHeartbeatMs(values["heartbeat-ms"]);
  const tensorParallel = parseTensorParallel(values);
  const replicaCount = parseReplicas(values.replicas, tensorParallel);
  const kvCacheDtype = parseKvCacheDtypeFlag(values["kv-cache-dtype"]);
  const modelDir = values.model ?? defaultModelDir;
  const functionsDir = values.functions ?? join(repoRoot, "functions", "examples");
  const work = mkdtempSync(join(tmpdir(), "gust-dev-"));
  const replicas = replicaLayout(replicaCount, work);
  const sockets = replicas.map((r) => r.socket);
  if (!values.model) process.stderr.write(`gust dev: no --model, serving ${defaultModelNote}\n`);
  const log = (line: string) => void process.stderr.write(`${line}\n`);
  const runtimes = await startReplicas(replicas, (replica) => () =>
    startChild(
      bin("bun"),
      [
        join(repoRoot, "runtime/cli/main.ts"),
        "runtime",
        "--model",
        modelDir,
        "--socket",
        replica.socket,
        "--max-num-seqs",
        "16",
        "--kv-cache-dtype",
        kvCacheDtype,
        ...(values["enforce-eager"] ? ["--enforce-eager"] : []),
        ...replica.threadArgs,
        ...draftArgs(values.model, values.draft),
        ...names.flatMap((n) => ["--served-model-name", n]),
        ...(tensorParallel > 1 ? ["--tensor-parallel", String(tensorParallel)] : []),
      ],
      /serving/,
      replica.label,
    ), log);
  let stopGateway: () => Promise<void>;
  const base = `http://127.0.0.1:${port}`;
  const admin = devAdminKey(process.env);
  const keys: DevKeys = { admin: admin.key, api: parseKeys(process.env.GUST_API_KEYS)[0] };
  if (gatewayKind === "bun") {
    const gw = await startGateway(
      {
        runtime: sockets,
        port,
        hostname: "127.0.0.1",
        stateDir: join(work, "functions"),
        imageUrls,
        ...temperature,
        ...toolCallSchemas,
        heartbeatMs,
        adminKey: admin.key,
      },
      serveOnBun,
    );
    stopGateway = gw.stop;
  } else {
    const gateway = new Supervised("gateway", () =>
      startChild(
        bin("deno"),
        [
          "run",
          "-A",
          DENO_GATEWAY_V8_FLAG,
          join(repoRoot, "edge/main-deno.ts"),
          ...sockets.flatMap((socket) => ["--runtime", socket]),
          "--port",
          String(port),
          "--state-dir",
          join(work, "functions"),
          "--image-urls",
          imageUrls.mode,
          ...imageUrls.allow.flatMap((h) => ["--image-url-allow", h]),
          ...(temperature.defaultTemperature !== undefined
            ? ["--default-temperature", String(temperature.defaultTemperature)]
            : []),
          ...(toolCallSchemas.toolCallSchemas ? ["--tool-call-schemas", toolCallSchemas.toolCallSchemas] : []),
          ...(heartbeatMs !== undefined ? ["--heartbeat-ms", String(heartbeatMs)] : []),
        ],
        /gateway on/,
        "gateway",
        { ...process.env, GUST_ADMIN_KEY: admin.key },
      ), log);
    await gateway.run();
    stopGateway = async () => gateway.stop();
  }
  let watcher: ReturnType<typeof watch> | null = null;
  if (existsSync(functionsDir)) {
    await deployAll(functionsDir, base, keys);
    let timer: ReturnType<typeof setTimeout> | null = null;
    watcher = watch(functionsDir, { recursive: true }, () => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => void deployAll(functionsDir, base, keys), 150); // one redeploy per burst of saves
    });
  }
  process.stderr.write(
    (admin.generated
      ? `\ngust dev: admin key made for this session: ${admin.key} (gust deploy FILE --name NAME --key KEY)`
      : "\ngust dev: admin key from GUST_ADMIN_KEY") +
      `\ngust dev: ready on ${base} (gateway: ${gatewayKind}${
        replicaCount > 1 ? `, ${replicaCount} runtimes` : ""
      }); the playground page is ${base}/\nTry:\n  curl ${base}/v1/chat/completions -H 'content-type: application/json' -d '{"model":"${
        names[0] ?? basename(resolve(modelDir))
      }","messages":[{"role":"user","content":"Hello!"}],"max_tokens":32}'\n\n`,
  );
  await new Promise<void>((done) => {
    const stop = async () => {
      watcher?.close();
      await stopGateway();
      for (const runtime of runtimes) runtime.stop();
      done();
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  return "";
}

/** The default model speculates with its own draft; another model only with the --draft it is given. */
function draftArgs(model: string | undefined, draft: string | undefined): string[] {
  if (draft) return ["--draft", draft];
  return model ? [] : ["--draft", defaultDraftDir];
}
