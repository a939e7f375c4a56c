// How much of the Deno gateway's young generation survives each scavenge, by request pattern (issue 6). What survives
// two scavenges is promoted, and the old generation's growth sets how often V8 runs a full collection (the pause that
// can stall the gateway past 5 ms). This is how the body-stream link in edge/lifecycle.ts was found: streamed chat
// 13% survived (10.4 KiB promoted per request), unstreamed 5%, a bare Deno.serve string response 0%.
//   npx bun test/bench/gateway-survival.ts [PATTERN] [requests] [--deno-flag FLAG]...
// PATTERN joins with "-" any of: chat (streamed 1-token chat), nostream (the same unstreamed), metrics (the bench's
// targeted scrape), health, sleep (12 ms between iterations). Default "chat".
import { startDenoGateway } from "../helpers/processes.ts";
import { oneTokenChat, postChat, startBenchRuntime } from "./bench-stack.ts";
import { v8Collections } from "./v8-gc-log.ts";

const argv = process.argv.slice(2);
const pattern = argv.find((a, i) => /^[a-z][a-z-]*$/.test(a) && argv[i - 1] !== "--deno-flag") ?? "chat";
const N = Number(argv.find((a) => /^\d+$/.test(a)) ?? 800);
const denoFlags = argv.flatMap((a, i) => (a === "--deno-flag" ? [argv[i + 1]] : []));
const has = (part: string) => pattern.split("-").includes(part);
const gwPort = 18497;

const { runtime, gatewayArgs } = await startBenchRuntime("survival", gwPort);
// V8's per-collection statistics, one JSON line each (trace-gc-nvp)
const gateway = await startDenoGateway(gatewayArgs, 60_000, ["--v8-flags=--trace-gc-nvp", ...denoFlags]);
const base = `http://127.0.0.1:${gwPort}`;
const get = async (path: string) => (await fetch(`${base}${path}`)).text();

async function iteration(): Promise<void> {
  if (has("chat")) await postChat(gwPort, oneTokenChat(true));
  if (has("nostream")) await postChat(gwPort, oneTokenChat(false));
  if (has("metrics")) {
    await get("/metrics?name[]=gust_runtime_first_token_seconds_sum&name[]=gust_event_loop_lag_seconds_count");
  }
  if (has("health")) await get("/health");
  if (has("sleep")) await new Promise((r) => setTimeout(r, 12));
}

try {
  for (let i = 0; i < 300; i++) await iteration(); // warm-up: compiled code, caches, pools
  const mark = gateway.output().length;
  for (let i = 0; i < N; i++) await iteration();
  await new Promise((r) => setTimeout(r, 300)); // the last lines
  const all = v8Collections(gateway.output().slice(mark));
  const scavenges = all.filter((e) => e.gc === "s");
  const sum = (k: "allocated" | "promoted" | "new_space_survived") => scavenges.reduce((a, e) => a + e[k], 0);
  const kib = (bytes: number) => (bytes / 1024).toFixed(1);
  console.log(`Deno gateway, ${N} iterations of ${pattern}${denoFlags.length ? ` (${denoFlags.join(" ")})` : ""}:`);
  console.log(`  ${scavenges.length} scavenges, ${all.length - scavenges.length} full collections`);
  console.log(
    `  allocated ${kib(sum("allocated") / N)} KiB per iteration; survived a scavenge ${
      (100 * sum("new_space_survived") / Math.max(1, sum("allocated"))).toFixed(1)
    }%; promoted ${kib(sum("promoted") / N)} KiB per iteration`,
  );
} finally {
  await gateway.stop();
  await runtime.stop();
}
