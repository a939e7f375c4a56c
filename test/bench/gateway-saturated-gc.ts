// The Deno gateway's full collections under a load that never lets its event loop idle (issue 6): 16 streamed chats
// kept in flight for a fixed time. The sequential latency bench leaves the loop idle between requests, time V8's
// concurrent markers can use; here they get none on the loop's core, so this shows whether V8's marking still keeps up
// with a given placement and set of V8 flags: how large the heap grows before each full collection's final pause, how
// long that pause is, and how much marking ran on the loop (V8's --trace-gc-nvp). For either gateway it also reports
// the loop's lag under that load (gust_event_loop_lag_seconds: > 5 ms is a stall, whatever its cause) beside the
// time the loop thread waited for a CPU and the VM's steal, so `--gateway bun` is the same load's baseline.
//   npx bun test/bench/gateway-saturated-gc.ts [seconds] [--gateway deno|bun] [--streams N] [--pin] [--gc-helpers-spare] [--gc-threads normal|idle] [--deno-flag FLAG]...
// --pin: the gateway alone on CPU 1; the runtime and this client on CPU 0. --gc-helpers-spare (with --pin): V8's
// helper threads on CPU 0, the core a multi-core host would give them.
import { loopLagOver5ms, metricSample } from "../helpers/metrics.ts";
import { startDenoGateway, startGust } from "../helpers/processes.ts";
import { benchChat, postChat, startBenchRuntime } from "./bench-stack.ts";
import { percentile as pct } from "./percentile.ts";
import { pinTo, pinV8HelpersTo } from "./pinning.ts";
import { procAvailable, stealTicks, threadTimes } from "./proc-sched.ts";
import { type V8Collection, v8Collections } from "./v8-gc-log.ts";

const argv = process.argv.slice(2);
const option = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const seconds = Number(argv.find((a, i) => /^\d+$/.test(a) && !argv[i - 1]?.startsWith("--")) ?? 20);
const streams = Number(option("--streams") ?? 16);
const pin = argv.includes("--pin");
const helpersSpare = pin && argv.includes("--gc-helpers-spare");
const gcThreads = option("--gc-threads") ?? "normal";
const gatewayKind = option("--gateway") ?? "deno";
if (gatewayKind !== "deno" && gatewayKind !== "bun") {
  throw new Error(`--gateway must be deno or bun, not ${gatewayKind}`);
}
const denoFlags = argv.flatMap((a, i) => (a === "--deno-flag" ? [argv[i + 1]] : []));
const gwPort = 18495;

// the final pause's own phases in --trace-gc-nvp (its other keys are sub-phases, background work, sizes and rates)
const PAUSE_PHASES = ["prologue", "mark", "clear", "evacuate", "sweep", "finish", "epilogue"] as const;
interface MarkCompact extends Partial<Record<(typeof PAUSE_PHASES)[number], number>> {
  start_object_size: number;
  incremental?: number;
  incremental_walltime_duration?: number;
  incremental_longest_step?: number;
  reason: string;
}

const { runtime, gatewayArgs } = await startBenchRuntime("saturated", gwPort, pin ? ["--threads", "1"] : []);
const gateway = gatewayKind === "deno"
  ? await startDenoGateway([...gatewayArgs, "--gc-threads", gcThreads], 60_000, [
    "--v8-flags=--trace-gc-nvp",
    ...denoFlags,
  ])
  : await startGust(["serve", ...gatewayArgs], /gateway on/);
let moved = 0;
if (pin) {
  pinTo(0, runtime.proc.pid!);
  pinTo(1, gateway.proc.pid!);
  pinTo(0, process.pid);
  if (helpersSpare && gatewayKind === "deno") moved = pinV8HelpersTo(0, gateway.proc.pid!);
}
const body = benchChat(true, 16);
const chat = () => postChat(gwPort, body);
/** The loop's lag samples so far (all, and those over 5 ms) with its thread's CPU and run-queue wait and the VM's steal. */
const withProc = procAvailable(gateway.proc.pid!);
async function reading() {
  const text = await (await fetch(
    `http://127.0.0.1:${gwPort}/metrics?name[]=gust_event_loop_lag_seconds_count&name[]=gust_event_loop_lag_max_seconds`,
  )).text();
  const count = metricSample(text, "gust_event_loop_lag_seconds_count");
  const loop = withProc ? threadTimes(gateway.proc.pid!) : null;
  return {
    count,
    over5: loopLagOver5ms(text),
    worstMs: metricSample(text, "gust_event_loop_lag_max_seconds") * 1000,
    runMs: (loop?.mainRunNs ?? 0) / 1e6,
    waitMs: (loop?.mainWaitNs ?? 0) / 1e6,
    steal: withProc ? stealTicks() : 0,
  };
}
try {
  for (let i = 0; i < 200; i++) await chat(); // warm-up
  const mark = gateway.output().length;
  const before = await reading();
  const endAt = performance.now() + seconds * 1000;
  let done = 0;
  await Promise.all(Array.from({ length: streams }, async () => {
    while (performance.now() < endAt) {
      await chat();
      done++;
    }
  }));
  const after = await reading();
  await new Promise((r) => setTimeout(r, 300));
  const where = pin
    ? `pinned: gateway on CPU 1${helpersSpare ? `, its ${moved} V8 helpers on CPU 0` : ""}, runtime and client on CPU 0`
    : "not pinned";
  console.log(
    `${
      gatewayKind === "deno" ? "Deno" : "Bun"
    } gateway, ${streams} streams back to back for ${seconds} s (${done} requests of 16 tokens); ${where}${
      gatewayKind === "deno" ? `; --gc-threads ${gcThreads}` : ""
    }${denoFlags.length ? `; ${denoFlags.join(" ")}` : ""}`,
  );
  console.log(
    `  event loop: ${after.over5 - before.over5} lag samples over 5 ms of ${
      after.count - before.count
    } (worst since start ${after.worstMs.toFixed(2)} ms); its thread ran ${
      ((after.runMs - before.runMs) / 1000).toFixed(2)
    } s and waited for a CPU ${((after.waitMs - before.waitMs) / 1000).toFixed(2)} s; VM steal ${
      (after.steal - before.steal) * 10
    } ms`,
  );
  if (gatewayKind === "deno") reportCollections(gateway.output().slice(mark));
} finally {
  await gateway.stop();
  await runtime.stop();
}

/** Each full collection of the Deno gateway's --trace-gc-nvp log: heap at its start, final pause and its top phases. */
function reportCollections(log: string): void {
  const all = v8Collections(log) as Array<V8Collection & MarkCompact>;
  const scavenges = all.filter((c) => c.gc === "s").map((c) => c.pause);
  const full = all.filter((c) => c.gc !== "s");
  const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
  console.log(
    `  scavenges: ${scavenges.length}, pause p50 ${pct(scavenges, 50).toFixed(2)} ms, max ${
      Math.max(0, ...scavenges).toFixed(2)
    } ms, over 5 ms ${scavenges.filter((p) => p > 5).length}`,
  );
  console.log(`  full collections: ${full.length}`);
  for (const c of full) {
    console.log(
      `    ${c.gc} (${c.reason}): heap ${mb(c.start_object_size)} MB at its start, final pause ${
        c.pause.toFixed(2)
      } ms; marking on the loop ${(c.incremental ?? 0).toFixed(2)} ms within ${
        (c.incremental_walltime_duration ?? 0).toFixed(1)
      } ms, longest step ${(c.incremental_longest_step ?? 0).toFixed(2)} ms`,
    );
    const phases = PAUSE_PHASES.map((p) => [p, c[p] ?? 0] as const).sort((a, b) => b[1] - a[1]).slice(0, 3);
    console.log(
      `      pause: ${phases.map(([p, t]) => `${p} ${t.toFixed(2)} ms`).join(", ")}; ${
        mb(c.promoted)
      } MB moved out of the young generation`,
    );
  }
}
