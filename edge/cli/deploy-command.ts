// `gust deploy FILE --name N [--url GATEWAY] [--key K]` bundles a function with esbuild and sends it to
// the gateway's admin route; `gust rollback N` re-activates the previous version.
import { parseArgs } from "node:util";
import { bundleFunction } from "../functions/bundle.ts";
import { UsageError } from "../../runtime/text/errors.ts";

const deployUsage = "gust deploy FILE --name NAME [--url http://127.0.0.1:8080] [--key ADMIN_KEY] [--api-key KEY]";
const rollbackUsage = "gust rollback NAME [--url http://127.0.0.1:8080] [--key ADMIN_KEY] [--api-key KEY]";

function parse(argv: string[], usage: string) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        name: { type: "string" },
        url: { type: "string" },
        key: { type: "string" },
        "api-key": { type: "string" },
      },
    });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\nusage: ${usage}`);
  }
}

interface Keys {
  /** The gateway's admin key (GUST_ADMIN_KEY), sent as x-admin-key. */
  admin?: string;
  /** An API key (GUST_API_KEY), when the gateway requires one for every route. */
  api?: string;
}

async function post(url: string, keys: Keys, body?: string): Promise<Record<string, unknown>> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      body,
      headers: {
        "content-type": "application/javascript",
        ...(keys.admin ? { "x-admin-key": keys.admin } : {}),
        ...(keys.api ? { authorization: `Bearer ${keys.api}` } : {}),
      },
    });
  } catch (err) {
    throw new Error(
      `Cannot reach the gateway at ${url}: ${(err as Error).message}. Is \`gust serve\` or \`gust dev\` running?`,
    );
  }
  const json = (await res.json().catch(() => ({}))) as { error?: { message?: string } } & Record<string, unknown>;
  if (!res.ok) throw new Error(`The gateway refused (${res.status}): ${json.error?.message ?? res.statusText}`);
  return json;
}

function keysOf(values: { key?: string; "api-key"?: string }): Keys {
  return { admin: values.key ?? process.env.GUST_ADMIN_KEY, api: values["api-key"] ?? process.env.GUST_API_KEY };
}

export async function deployCommand(argv: string[]): Promise<string> {
  const { values, positionals } = parse(argv, deployUsage);
  if (positionals.length !== 1 || !values.name) throw new UsageError(`give one FILE and --name\nusage: ${deployUsage}`);
  const bundle = await bundleFunction(positionals[0]);
  const base = values.url ?? "http://127.0.0.1:8080";
  const out = await post(`${base}/admin/functions/${encodeURIComponent(values.name)}`, keysOf(values), bundle);
  return `deployed ${out.name} v${out.version} (${bundle.length} bytes): ${base}${out.url}`;
}

export async function rollbackCommand(argv: string[]): Promise<string> {
  const { values, positionals } = parse(argv, rollbackUsage);
  if (positionals.length !== 1) throw new UsageError(`give the function NAME\nusage: ${rollbackUsage}`);
  const base = values.url ?? "http://127.0.0.1:8080";
  const out = await post(`${base}/admin/functions/${encodeURIComponent(positionals[0])}/rollback`, keysOf(values));
  return `${out.name} rolled back to v${out.version}`;
}
