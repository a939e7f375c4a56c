// What the gateway benches start and send alike: the runtime on the FP8 fixture over a fresh Unix socket, the
// gateway's `serve` flags against it, and the 1-token greedy chat request they time.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fixtureDir } from "../helpers/fixtures.ts";
import { type Started, startGust, tempSocket } from "../helpers/processes.ts";

export const BENCH_MODEL = "tiny-mistral3-fp8";
export const BENCH_MESSAGES = [{ role: "user" as const, content: "Hello there" }];

/** The runtime (`extraArgs` e.g. ["--threads", "1"]), its socket, and the `serve` flags for a gateway on `gatewayPort`. */
export async function startBenchRuntime(
  name: string,
  gatewayPort: number,
  extraArgs: string[] = [],
): Promise<{ runtime: Started; socket: string; gatewayArgs: string[] }> {
  const socket = tempSocket(name);
  const runtime = await startGust([
    "runtime",
    "--model",
    fixtureDir(BENCH_MODEL),
    "--socket",
    socket,
    "--num-blocks",
    "512",
    ...extraArgs,
  ], /serving/);
  const gatewayArgs = [
    "--runtime",
    socket,
    "--port",
    String(gatewayPort),
    "--state-dir",
    mkdtempSync(join(tmpdir(), `gust-${name}-`)),
  ];
  return { runtime, socket, gatewayArgs };
}

/** A greedy chat body of `maxTokens` tokens, EOS ignored so each request does the same work. */
export const benchChat = (stream: boolean, maxTokens: number): string =>
  JSON.stringify({
    model: BENCH_MODEL,
    messages: BENCH_MESSAGES,
    max_tokens: maxTokens,
    stream,
    temperature: 0,
    ignore_eos: true,
  });
/** The chat body every latency bench times: one token. */
export const oneTokenChat = (stream: boolean): string => benchChat(stream, 1);

/** Sends `body` to the chat route of the gateway on `port` and reads the whole answer. */
export async function postChat(port: number, body: string): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  })).text();
}
