// The Deno gateway's full collections under a load that never lets its event loop idle (issue 6): 16 streamed chats
// kept in flight for a fixed time. The sequential latency bench leaves the loop idle between requests, time V8's
// concurrent markers can use; here they get none on the loop's core, so this shows whether V8's marking still keeps up
// with a given placement and set of V8 flags: how large the heap grows before each full collection's final pause, how
// long that pause is, and how much marking ran on the loop (V8's --trace-gc-nvp).
//   npx bun test/bench/gateway-saturated-gc.ts [seconds] [--streams N] [--pin] [--gc-helpers-spare] [--gc-threads normal|idle] [--deno-flag FLAG]...
// --pin: the gateway alone on CPU 1; the runtime and this client on CPU 0. --gc-helpers-spare (with --pin): V8's
// helper threads on CPU 0, the core a multi-core host would give them.
import { startDenoGateway } from "../helpers/processes.ts";
import { benchChat, postChat, startBenchRuntime } from "./bench-stack.ts";
import { percentile as pct } from "./percentile.ts";
import { pinTo, pinV8HelpersTo } from "./pinning.ts";
import { v8Collections, type V8Collection } from "./v8-gc-log.ts";

const argv = process.argv.slice(2);
const option = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const seconds = Number(argv.find((a, i) => /^\d+$/.test(a) && !argv[i - 1]?.startsWith("--")) ?? 20);
const streams = Number(option("--streams") ?? 16);
const pin = argv.includes("--pin");
const helpersSpare = pin && argv.includes("--gc-helpers-spare");
const gcThreads = option("--gc-threads") ?? "normal";
const denoFlags = argv.flatMap((a, i) => (a === "--deno-flag" ? [argv[i + 1]] : []));
const gwPort = 18495;

// the final pause's own phases in --trace-gc-nvp (its other keys are sub-phases, background work, sizes and rates)
const PAUSE_PHASES = ["prologue", "mark", "clear", "evacuate", "sweep", "finish", "epilogue"] as const;
interface MarkCompact extends Partial<Record<(typeof PAUSE_PHASES)[number], number>> { start_object_size: number; incremental?: number; incremental_walltime_duration?: number; incremental_longest_step?: number; reason: string }

const { runtime, gatewayArgs } = await startBenchRuntime("saturated", gwPort, pin ? ["--threads", "1"] : []);
const gateway = await startDenoGateway([...gatewayArgs, "--gc-threads", gcThreads], 60_000, ["--v8-flags=--trace-gc-nvp", ...denoFlags]);
let moved = 0;
if (pin) {
  pinTo(0, runtime.proc.pid!);
  pinTo(1, gateway.proc.pid!);
  pinTo(0, process.pid);
  if (helpersSpare) moved = pinV8HelpersTo(0, gateway.proc.pid!);
}
const body = benchChat(true, 16);
const chat = () => postChat(gwPort, body);
try {
  for (let i = 0; i < 200; i++) await chat(); // warm-up
  const mark = gateway.output().length;
  const endAt = performance.now() + seconds * 1000;
  let done = 0;
  await Promise.all(Array.from({ length: streams }, async () => {
    while (performance.now() < endAt) {
      await chat();
      done++;
    }
  }));
  await new Promise((r) => setTimeout(r, 300));
  const all = v8Collections(gateway.output().slice(mark)) as Array<V8Collection & MarkCompact>;
  const scavenges = all.filter((c) => c.gc === "s").map((c) => c.pause);
  const full = all.filter((c) => c.gc !== "s");
  const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
  console.log(`Deno gateway, ${streams} streams back to back for ${seconds} s (${done} requests of 16 tokens); ${pin ? `pinned: gateway on CPU 1${helpersSpare ? `, its ${moved} V8 helpers on CPU 0` : ""}, runtime and client on CPU 0` : "not pinned"}; --gc-threads ${gcThreads}${denoFlags.length ? `; ${denoFlags.join(" ")}` : ""}`);
  console.log(`  scavenges: ${scavenges.length}, pause p50 ${pct(scavenges, 50).toFixed(2)} ms, max ${Math.max(0, ...scavenges).toFixed(2)} ms, over 5 ms ${scavenges.filter((p) => p > 5).length}`);
  console.log(`  full collections: ${full.length}`);
  for (const c of full) {
    console.log(`    ${c.gc} (${c.reason}): heap ${mb(c.start_object_size)} MB at its start, final pause ${c.pause.toFixed(2)} ms; marking on the loop ${(c.incremental ?? 0).toFixed(2)} ms within ${(c.incremental_walltime_duration ?? 0).toFixed(1)} ms, longest step ${(c.incremental_longest_step ?? 0).toFixed(2)} ms`);
    const phases = PAUSE_PHASES.map((p) => [p, c[p] ?? 0] as const).sort((a, b) => b[1] - a[1]).slice(0, 3);
    console.log(`      pause: ${phases.map(([p, t]) => `${p} ${t.toFixed(2)} ms`).join(", ")}; ${mb(c.promoted)} MB moved out of the young generation`);
  }
} finally {
  await gateway.stop();
  await runtime.stop();
}
