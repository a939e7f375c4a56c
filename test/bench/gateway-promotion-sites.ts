// Where the Deno gateway allocates what its young generation promotes (issue 6): old-generation growth sets how often
// V8 runs a full collection, and each full collection's marking is the Deno gateway's longest loop stall. V8's
// sampling heap profiler (over the inspector protocol) keeps a sample until its object dies; told to forget objects
// that die in a scavenge but keep those that die in a full collection, what it holds at the end is what survived the
// young generation: promoted, or still young at the end (at most one young generation's worth, ~25 requests).
//   npx bun test/bench/gateway-promotion-sites.ts [requests] [--frames K] [--pattern chat|nostream]
import { startDenoGateway } from "../helpers/processes.ts";
import { oneTokenChat, postChat, startBenchRuntime } from "./bench-stack.ts";

const argv = process.argv.slice(2);
const N = Number(argv.find((a) => /^\d+$/.test(a)) ?? 3000);
const frames = argv.includes("--frames") ? Number(argv[argv.indexOf("--frames") + 1]) : 6;
const stream = !(argv.includes("--pattern") && argv[argv.indexOf("--pattern") + 1] === "nostream");
const gwPort = 18498;
const inspectPort = 19231;
const SAMPLING_INTERVAL_BYTES = 256;

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  callFrame: CallFrame;
  selfSize: number;
  id: number;
  children: ProfileNode[];
}

/** One inspector session: sends a method, resolves with its result. */
async function inspector(
  port: number,
): Promise<{ call: (method: string, params?: object) => Promise<any>; close: () => void }> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as {
    webSocketDebuggerUrl: string;
  }[];
  const ws = new WebSocket(targets[0].webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  const waiting = new Map<number, (result: any) => void>();
  ws.onmessage = (e) => {
    const msg = JSON.parse(String(e.data));
    if (msg.id !== undefined) {
      waiting.get(msg.id)?.(msg.error ? Promise.reject(new Error(JSON.stringify(msg.error))) : msg.result);
    }
  };
  let nextId = 1;
  return {
    call: (method, params = {}) =>
      new Promise((resolve) => {
        const id = nextId++;
        waiting.set(id, resolve);
        ws.send(JSON.stringify({ id, method, params }));
      }),
    close: () => ws.close(),
  };
}

const where = (f: CallFrame) =>
  `${f.functionName || "(anonymous)"} ${f.url.replace(/^.*\/(edge|runtime|node_modules|ext)\//, "$1/")}:${
    f.lineNumber + 1
  }`;

const { runtime, gatewayArgs } = await startBenchRuntime("promotion", gwPort);
const gateway = await startDenoGateway(gatewayArgs, 60_000, [`--inspect=127.0.0.1:${inspectPort}`]);
const chat = oneTokenChat(stream);
const post = () => postChat(gwPort, chat);
try {
  for (let i = 0; i < 300; i++) await post(); // warm-up: compiled code, caches, pools
  const session = await inspector(inspectPort);
  await session.call("HeapProfiler.enable");
  await session.call("HeapProfiler.startSampling", {
    samplingInterval: SAMPLING_INTERVAL_BYTES,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: false,
  });
  for (let i = 0; i < N; i++) await post();
  const { profile } = (await session.call("HeapProfiler.stopSampling")) as { profile: { head: ProfileNode } };
  session.close();
  // sum self sizes by the innermost `frames` frames of each allocation's stack
  const bySite = new Map<string, number>();
  const walk = (node: ProfileNode, stack: string[]) => {
    const here = [...stack, where(node.callFrame)];
    if (node.selfSize > 0) {
      const key = here.slice(-frames).reverse().join("\n      ← ");
      bySite.set(key, (bySite.get(key) ?? 0) + node.selfSize);
    }
    for (const child of node.children) walk(child, here);
  };
  walk(profile.head, []);
  const total = [...bySite.values()].reduce((a, b) => a + b, 0);
  console.log(
    `Deno gateway, ${N} ${stream ? "streamed" : "unstreamed"} chats: ${
      (total / N / 1024).toFixed(2)
    } KiB per request outlived the young generation (sampled every ${SAMPLING_INTERVAL_BYTES} bytes)`,
  );
  for (const [site, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
    console.log(`${(bytes / N).toFixed(0).padStart(6)} B/req  ${site}`);
  }
} finally {
  await gateway.stop();
  await runtime.stop();
}
