// The gateway-latency bench's baselines: servers in their own processes whose requests interleave with the
// gateway's, so both meet the same machine (a shared VM's stalls come and go within minutes). Neither runs any
// gateway code, so what they show over 5 ms is the machine's.
import { execFileSync } from "node:child_process";
import { bunBin, type Started, startProcess, tempSocket } from "../helpers/processes.ts";
import { pinTo } from "./pinning.ts";

export interface Baseline {
  url: string;
  /** the process whose event-loop thread the bench reads */
  server: Started;
  stop(): Promise<void>;
}

const portOf = (started: Started) => /on (\d+)/.exec(started.output())![1];

/** A bare Bun.serve SSE server: 200 events per request, as fast as it can. `pinCpu`: the CPU it runs on. */
export async function startBareServer(pinCpu: number | null): Promise<Baseline> {
  const script = `const ev = new TextEncoder().encode('data: {"choices":[{"delta":{"content":"x"}}]}\\n\\n');
const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response(new ReadableStream({ start(c) { for (let i = 0; i < 200; i++) c.enqueue(ev); c.close(); } }), { headers: { "content-type": "text/event-stream" } }) });
console.log("bare on " + s.port);`;
  const server = await startProcess(bunBin, ["-e", script], /bare on \d+/);
  if (pinCpu !== null) pinTo(pinCpu, server.proc.pid!);
  return { url: `http://127.0.0.1:${portOf(server)}/`, server, stop: async () => void (await server.stop()) };
}

/**
 * Control: the gateway's I/O pattern with fixed work and no gateway code. Each request does `workMs` of arithmetic
 * that allocates nothing (sized to the gateway's typical event-loop CPU per request), sends a 64-byte frame over a
 * Unix socket to an echo process (as the gateway sends `generate` to the runtime), waits for it to come back, and
 * answers with a 2-event SSE stream. Its event-loop CPU per request varies only with the machine and Bun's own
 * request handling, so its requests over 5 ms are the floor for the gateway's at the same kernel I/O exposure.
 * `pinCpus`: [server's CPU, echo's CPU].
 */
export async function startControlServer(workMs: number, pinCpus: [number, number] | null): Promise<Baseline> {
  const socket = tempSocket("control-echo");
  const echoScript = `Bun.listen({ unix: ${
    JSON.stringify(socket)
  }, socket: { data(s, d) { s.write(d); } } }); console.log("echo ready");`;
  const echo = await startProcess(bunBin, ["-e", echoScript], /echo ready/);
  const script =
    `const spin = (n) => { let x = 1; for (let i = 0; i < n; i++) x = (Math.imul(x, 1103515245) + 12345) | 0; return x; };
for (let i = 0; i < 200; i++) spin(1e5);
let best = Infinity;
for (let i = 0; i < 20; i++) { const t = performance.now(); spin(1e6); best = Math.min(best, performance.now() - t); }
const n = Math.round(1e6 * ${workMs} / best);
const waiting = [];
const upstream = await Bun.connect({ unix: ${JSON.stringify(socket)}, socket: { data() { waiting.shift()?.(); } } });
const frame = new Uint8Array(64);
const enc = new TextEncoder();
const role = enc.encode('data: {"choices":[{"delta":{"role":"assistant"}}]}\\n\\n');
const content = enc.encode('data: {"choices":[{"delta":{"content":"x"}}]}\\n\\n');
const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: async () => {
  frame[0] = spin(n) & 255;
  const back = new Promise((resolve) => waiting.push(resolve));
  upstream.write(frame);
  await back;
  return new Response(new ReadableStream({ start(c) { c.enqueue(role); c.enqueue(content); c.close(); } }), { headers: { "content-type": "text/event-stream" } });
} });
console.log("control on " + s.port + ", " + n + " steps per request");`;
  const server = await startProcess(bunBin, ["-e", script], /control on \d+/);
  if (pinCpus) {
    pinTo(pinCpus[0], server.proc.pid!);
    pinTo(pinCpus[1], echo.proc.pid!);
  }
  return {
    url: `http://127.0.0.1:${portOf(server)}/`,
    server,
    stop: async () => {
      await server.stop();
      await echo.stop();
    },
  };
}
