// Run under Deno by test/e2e/deno-isolate.test.ts: a real gateway (edge/gateway.ts on Deno.serve) against a running
// runtime takes one request of each kind, then prints its isolate's live heap after full collections, and what
// loading each part of Deno's Node layer (and sharp) then adds to it, one after another. A part the gateway had
// loaded already adds nothing.
//   deno run -A --v8-flags=--expose-gc test/e2e/deno-isolate-probe.ts SOCKET STATE_DIR PNG
import { parseServeArgs } from "../../edge/cli/serve-args.ts";
import { serveOnDeno } from "../../edge/deno.ts";
import { startGateway } from "../../edge/gateway.ts";

// Deno's API as used here, typed locally so the file also type-checks under Bun's tsc
declare const Deno: {
  args: string[];
  readFileSync(path: string): Uint8Array;
  memoryUsage(): { heapUsed: number };
  exit(code: number): never;
};

const [socket, stateDir, pngPath] = Deno.args;

const gw = await startGateway(
  parseServeArgs(["--runtime", socket, "--port", "0", "--state-dir", stateDir]),
  serveOnDeno,
);
const model = gw.link.binding?.info.id;
if (!model) throw new Error(`the gateway did not connect to the runtime at ${socket}: ${gw.link.lastError}`);

async function expectOk(path: string, init?: RequestInit): Promise<string> {
  const res = await fetch(`${gw.url}${path}`, init);
  const text = await res.text();
  if (!res.ok) throw new Error(`${init?.method ?? "GET"} ${path}: ${res.status} ${text}`);
  return text;
}
const chat = (body: object) => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ model, max_tokens: 4, ...body }),
});

await expectOk("/health");
await expectOk("/v1/models");
await expectOk("/v1/chat/completions", chat({ messages: [{ role: "user", content: "hello" }] }));
const sse = await expectOk(
  "/v1/chat/completions",
  chat({ messages: [{ role: "user", content: "hello" }], stream: true }),
);
if (!sse.includes("data: [DONE]")) throw new Error(`the stream did not end with [DONE]: ${sse}`);
const png = (Deno.readFileSync(pngPath) as unknown as { toBase64(): string }).toBase64();
const image = { type: "image_url", image_url: { url: `data:image/png;base64,${png}` } };
await expectOk(
  "/v1/chat/completions",
  chat({ messages: [{ role: "user", content: [image, { type: "text", text: "what is it?" }] }] }),
);
await expectOk("/admin/functions/probe", {
  method: "POST",
  body: `export default { fetch: () => new Response("deployed") };`,
});
if ((await expectOk("/fn/probe/")) !== "deployed") throw new Error("the deployed function did not answer");
await expectOk("/metrics");

const gc = (globalThis as unknown as { gc(): void }).gc;
const liveHeap = () => {
  for (let i = 0; i < 4; i++) gc();
  return Deno.memoryUsage().heapUsed;
};
const heapUsedBytes = liveHeap();
// `process` is the Node layer's core (Deno loads it on first touch of any Node global or module; web timers share
// part of it, which is why a bare node:timers would measure nothing here)
const parts: Record<string, () => unknown> = {
  process: () => (globalThis as unknown as { process: { env: object } }).process.env,
  "node:net": () => import("node:net"),
  "node:fs": () => import("node:fs"),
  "node:crypto": () => import("node:crypto"),
  sharp: () => import("sharp"),
};
const addedBytes: Record<string, number> = {};
const keep: unknown[] = [];
let before = heapUsedBytes;
for (const [name, load] of Object.entries(parts)) {
  keep.push(await load());
  const after = liveHeap();
  addedBytes[name] = after - before;
  before = after;
}
console.log(JSON.stringify({ heapUsedBytes, addedBytes }));
await gw.stop();
Deno.exit(0);
