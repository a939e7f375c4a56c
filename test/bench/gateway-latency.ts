// Gateway overhead (issue 6): time to the first SSE content byte through the gateway (its own process)
// minus the runtime's
// own first-token time over its socket, p50/p99 over sequential requests; sustained SSE events/s of the
// gateway; and a bare Bun.serve SSE server measured in the same run as the baseline.
//   npx bun test/bench/gateway-latency.ts [requests]
import { RuntimeClient } from "../../edge/runtime-client/client.ts";
import { encodeChat } from "../../runtime/text/index.ts";
import { fixtureDir } from "../helpers/fixtures.ts";
import { startGust, tempSocket } from "../helpers/processes.ts";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const N = Number(process.argv[2] ?? 200);
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const messages = [{ role: "user" as const, content: "Hello there" }];

const socket = tempSocket("bench");
const runtime = await startGust(["runtime", "--model", fixtureDir("tiny-mistral3-fp8"), "--socket", socket, "--num-blocks", "512"], /serving/);
const client = await RuntimeClient.connect(socket);
// the gateway in its own process, as in production (an in-process gateway would share this client's thread)
const gwPort = 18499;
const gwProc = await startGust(["serve", "--runtime", socket, "--port", String(gwPort), "--state-dir", mkdtempSync(join(tmpdir(), "gust-bench-"))], /gateway on/);
const gw = { url: `http://127.0.0.1:${gwPort}`, stop: () => gwProc.stop() };
const promptIds = encodeChat(client.info.tokenizer, { messages }).ids;

async function runtimeFirstToken(): Promise<number> {
  const t = performance.now();
  for await (const e of client.generate({ promptIds, maxTokens: 1, ignoreEos: true, sampling: { temperature: 0 } })) if (e.tokens.length) break;
  return performance.now() - t;
}

async function gatewayFirstByte(url: string, body: string): Promise<number> {
  const t = performance.now();
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });
  const reader = res.body!.getReader();
  let text = "";
  while (!text.includes('"content":"') || text.includes('"content":""') && !/"content":"[^"]/.test(text)) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  const ms = performance.now() - t;
  await reader.cancel();
  return ms;
}

const body = JSON.stringify({ model: "tiny-mistral3-fp8", messages, max_tokens: 1, stream: true, temperature: 0 });
const chatUrl = `${gw.url}/v1/chat/completions`;
for (let i = 0; i < 10; i++) { await runtimeFirstToken(); await gatewayFirstByte(chatUrl, body); } // warm-up
const direct: number[] = [], through: number[] = [];
for (let i = 0; i < N; i++) {
  direct.push(await runtimeFirstToken());
  through.push(await gatewayFirstByte(chatUrl, body));
}
const added = through.map((t, i) => t - direct[i]);
const stalls = added.filter((a) => a > 5).length;

// sustained SSE events/s through the gateway: 4 concurrent long streams
async function eventsPerSecond(url: string, payload: string, streams: number): Promise<number> {
  const t = performance.now();
  const counts = await Promise.all(Array.from({ length: streams }, async () => {
    const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: payload });
    const text = await res.text();
    return text.split("\n\n").filter((l) => l.startsWith("data: {")).length;
  }));
  return counts.reduce((a, b) => a + b, 0) / ((performance.now() - t) / 1000);
}
const longBody = JSON.stringify({ model: "tiny-mistral3-fp8", messages, max_tokens: 200, stream: true, temperature: 0, ignore_eos: true });
const gatewayEvents = await eventsPerSecond(chatUrl, longBody, 4);

// baseline: a bare Bun.serve SSE endpoint emitting the same number of events as fast as it can
const bare = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response(new ReadableStream({
  start(c) {
    const enc = new TextEncoder();
    for (let i = 0; i < 200; i++) c.enqueue(enc.encode(`data: {"choices":[{"delta":{"content":"x"}}]}\n\n`));
    c.close();
  },
}), { headers: { "content-type": "text/event-stream" } }) });
const bareFirst: number[] = [];
for (let i = 0; i < N; i++) bareFirst.push(await gatewayFirstByte(`http://127.0.0.1:${bare.port}/`, body.replace('"content":""', "")));
const bareEvents = await eventsPerSecond(`http://127.0.0.1:${bare.port}/`, "{}", 4);

console.log(`requests: ${N} sequential, tiny-mistral3-fp8, prompt ${promptIds.length} tokens, 1 generated token`);
console.log(`runtime first token (socket)      p50 ${pct(direct, 50).toFixed(2)} ms  p99 ${pct(direct, 99).toFixed(2)} ms`);
console.log(`gateway first SSE content byte    p50 ${pct(through, 50).toFixed(2)} ms  p99 ${pct(through, 99).toFixed(2)} ms`);
console.log(`gateway added latency             p50 ${pct(added, 50).toFixed(2)} ms  p99 ${pct(added, 99).toFixed(2)} ms  (target ≤ 1 ms p50)`);
console.log(`requests whose added latency exceeded 5 ms: ${stalls} of ${N}; worst ${Math.max(...added).toFixed(2)} ms`);
console.log(`bare Bun.serve first SSE byte     p50 ${pct(bareFirst, 50).toFixed(2)} ms  p99 ${pct(bareFirst, 99).toFixed(2)} ms`);
console.log(`SSE events/s, 4 streams: gateway ${gatewayEvents.toFixed(0)} (bounded by the runtime's decode), bare Bun.serve ${bareEvents.toFixed(0)}`);
bare.stop(true);
await gw.stop();
client.close();
await runtime.stop();
