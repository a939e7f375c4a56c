// Where the gateway allocates, per served request (issue 6: fewer bytes per request, fewer collections inside
// requests). Two views:
//  --engine deno (default): the gateway runs on Deno with its inspector open; V8's sampling heap profiler records
//    every sampled allocation *including objects already collected* (DevTools' "allocation sampling" with both
//    include-flags), so the profile is the allocation rate by call site, not what is still alive. JSC has no such
//    profiler; the sites are the gateway's own code and libraries on both engines, though sizes differ.
//  --engine bun: how much the Bun gateway allocates per request. With BUN_JSC_logGC set, JSC logs each collection
//    with the heap's size when it starts and when it ends; the growth between one's end and the next one's start is
//    what was allocated meanwhile. Logging slows each collection down, so its pause times are ignored here.
//   npx bun test/bench/gateway-alloc.ts [requests] [--engine deno|bun] [--top K] [--stacks FRAME] [--promoted]
// --promoted (Deno) leaves out what young collections freed: what remains is what outlived them (promoted to the old
// generation, where only a full collection frees it) or is still alive, by the site that allocated it.
// --stacks FRAME (Deno) also prints the call stacks under which allocating frames named FRAME (e.g. "next") allocate.
import { repoRoot } from "../helpers/fixtures.ts";
import { startDenoGateway, type Started, startGust } from "../helpers/processes.ts";
import { oneTokenChat, startBenchRuntime } from "./bench-stack.ts";

const argv = process.argv.slice(2);
const N = Number(argv.find((a) => /^\d+$/.test(a)) ?? 500);
const TOP = argv.includes("--top") ? Number(argv[argv.indexOf("--top") + 1]) : 25;
const stacksOf = argv.includes("--stacks") ? argv[argv.indexOf("--stacks") + 1] : null;
const promotedOnly = argv.includes("--promoted");
const engine = argv.includes("--engine") ? argv[argv.indexOf("--engine") + 1] : "deno";
const inspectPort = 19339;
const gwPort = 18498;

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  selfSize: number;
  children: ProfileNode[];
}

/** A tiny Chrome DevTools Protocol client: one request at a time, answers matched by id. */
async function cdp(wsUrl: string) {
  const ws = new WebSocket(wsUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  let nextId = 1;
  const waiting = new Map<number, { resolve: (result: unknown) => void; reject: (e: Error) => void }>();
  ws.onmessage = (e) => {
    const msg = JSON.parse(String(e.data));
    const call = waiting.get(msg.id);
    if (!call) return; // an event, not an answer
    waiting.delete(msg.id);
    if (msg.error) call.reject(new Error(`${JSON.stringify(msg.error)}`));
    else call.resolve(msg.result);
  };
  return {
    send: <T>(method: string, params: object = {}) =>
      new Promise<T>((resolve, reject) => {
        const id = nextId++;
        waiting.set(id, { resolve: resolve as (r: unknown) => void, reject });
        ws.send(JSON.stringify({ id, method, params }));
      }),
    close: () => ws.close(),
  };
}

const short = (url: string) => url.replace(`file://${repoRoot}/`, "").replace(/^.*node_modules\//, "npm:");
const frameName = (f: CallFrame) => `${f.functionName || "(anonymous)"} ${short(f.url)}:${f.lineNumber + 1}`;
const isOurs = (url: string) => url.startsWith(`file://${repoRoot}/`) && !url.includes("/node_modules/");

/** Bytes by the allocating frame (self), and by the nearest frame of our own code on the stack (who asked for it). */
function aggregate(root: ProfileNode) {
  const self = new Map<string, number>();
  const ours = new Map<string, number>();
  const pairs = new Map<string, number>();
  const stacks = new Map<string, number>();
  let total = 0;
  const add = (m: Map<string, number>, key: string, bytes: number) => m.set(key, (m.get(key) ?? 0) + bytes);
  const walk = (node: ProfileNode, nearestOurs: string, path: string[]) => {
    const here = isOurs(node.callFrame.url) ? frameName(node.callFrame) : nearestOurs;
    const stack = [...path, frameName(node.callFrame)];
    if (node.selfSize) {
      total += node.selfSize;
      const key = frameName(node.callFrame);
      add(self, key, node.selfSize);
      add(ours, here, node.selfSize);
      add(pairs, here === key ? key : `${here}  →  ${key}`, node.selfSize);
      if (stacksOf !== null && node.callFrame.functionName === stacksOf) {
        add(stacks, stack.slice(-8).reverse().join("\n      ← "), node.selfSize);
      }
    }
    for (const child of node.children) walk(child, here, stack);
  };
  walk(root, "(not under gateway code)", []);
  return { self, ours, pairs, stacks, total };
}

const { runtime, gatewayArgs: gwArgs } = await startBenchRuntime("alloc", gwPort);
const chatUrl = `http://127.0.0.1:${gwPort}/v1/chat/completions`;
const body = oneTokenChat(true);
const what = `${N} streaming 1-token chat requests`;

async function oneRequest(): Promise<void> {
  const res = await fetch(chatUrl, { method: "POST", headers: { "content-type": "application/json" }, body });
  await res.text();
  if (res.status !== 200) throw new Error(`gateway answered ${res.status}`);
}

async function profileDeno(): Promise<Started> {
  const gateway = await startDenoGateway(gwArgs, 60_000, [`--inspect=127.0.0.1:${inspectPort}`]);
  for (let i = 0; i < 300; i++) await oneRequest();
  const [target] = (await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json()) as {
    webSocketDebuggerUrl: string;
  }[];
  const session = await cdp(target.webSocketDebuggerUrl);
  await session.send("HeapProfiler.enable");
  await session.send("HeapProfiler.startSampling", {
    samplingInterval: 256,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: !promotedOnly,
  });
  for (let i = 0; i < N; i++) await oneRequest();
  const { profile } = await session.send<{ profile: { head: ProfileNode } }>("HeapProfiler.stopSampling");
  session.close();
  const { self, ours, pairs, stacks, total } = aggregate(profile.head);
  const perReq = (bytes: number) => `${(bytes / N).toFixed(0).padStart(7)} B/req`;
  console.log(
    `sampled allocation${promotedOnly ? " that outlived young collections" : ""}: ${
      perReq(total)
    } over ${what} (Deno gateway)`,
  );
  const top = (m: Map<string, number>) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, TOP).map(([k, v]) => `  ${perReq(v)}  ${k}`).join("\n");
  console.log(`\nby allocating frame:\n${top(self)}`);
  console.log(`\nby nearest gateway frame on the stack:\n${top(ours)}`);
  console.log(`\nby (nearest gateway frame → allocating frame):\n${top(pairs)}`);
  if (stacksOf !== null) console.log(`\nstacks allocating in ${stacksOf} (innermost first):\n${top(stacks)}`);
  return gateway;
}

async function countBun(): Promise<Started> {
  const gateway = await startGust(["serve", ...gwArgs], /gateway on/, 60_000, { BUN_JSC_logGC: "1" });
  for (let i = 0; i < 500; i++) await oneRequest();
  const mark = gateway.output().length;
  for (let i = 0; i < N; i++) await oneRequest();
  const log = gateway.output().slice(mark);
  // Allocation between two collections = the heap's size when the next one starts − its size after the previous one
  // ("START M 12008kb" … "=> 3751kb, p=… END]"). Counting collections × the allowance would overcount: most of the
  // gateway's collections come from JSC's activity timer, which collects before the allowance is reached.
  const starts = [...log.matchAll(/START M (\d+)kb => (\w+)Collection/g)].map((m) => ({
    kb: Number(m[1]),
    full: m[2] === "Full",
  }));
  const ends = [...log.matchAll(/=> (\d+)kb, p=[\d.]+ms \(max [\d.]+\), cycle [\d.]+ms END\]/g)].map((m) =>
    Number(m[1])
  );
  let allocatedKb = 0;
  for (let k = 1; k < starts.length && k - 1 < ends.length; k++) allocatedKb += starts[k].kb - ends[k - 1];
  const triggered =
    log.split("\n").filter((l) => l.startsWith("Requesting GC because bytes allocated this cycle")).length;
  const perRequest = allocatedKb / N;
  console.log(
    `Bun gateway, ${what}: ${starts.length} collections (${
      starts.filter((x) => x.full).length
    } full; ${triggered} triggered by the allocation allowance, the rest by JSC's activity timer)`,
  );
  console.log(
    `allocation ≈ ${
      perRequest.toFixed(1)
    } KiB per request (heap growth between collections; the stretches before the first and after the last are not counted)`,
  );
  return gateway;
}

let gateway: Started | null = null;
try {
  gateway = engine === "bun" ? await countBun() : await profileDeno();
} finally {
  await gateway?.stop();
  await runtime.stop();
}
