// How long the gateway's event loop is held at worst when requests come back to back (under load the young
// generation's allowance, not JSC's timers, sets when collections happen; edge/bun-heap.ts). Each budget runs in a
// child process of its own (JSC reads BUN_JSC_* options at start): the chat route through the whole middleware stack
// (app.request, the fake runtime of the unit tests, the SSE body read to its end), one request per event-loop turn,
// timed from its start to its body's end. A request that took > 5 ms held the loop that long: a collection (pause and
// the sweeping after it) inside it, or a compile.
// The children inherit this shell's environment otherwise (the README's figures: Bun's GC timer on).
//   npx bun test/bench/gateway-gc-stalls.ts [requests] [--budgets 8,16,32]   (budgets in MiB)
import { spawnSync } from "node:child_process";
import { bunBin } from "../helpers/processes.ts";
import { percentile as pct } from "./percentile.ts";

const argv = process.argv.slice(2);
const N = Number(argv.find((a) => /^\d+$/.test(a)) ?? 20_000);

interface Result {
  budgetMiB: number;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  max: number;
  over3: number;
  over5: number;
  worst: number[];
}

async function child(): Promise<void> {
  const { testGateway, user } = await import("../helpers/gateway.ts");
  const gw = testGateway();
  const body = JSON.stringify({ ...user("Hello there"), model: gw.fake.info.id, stream: true, max_tokens: 4 });
  const durations: number[] = [];
  const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
  const run = async (n: number, record: boolean) => {
    for (let i = 0; i < n; i++) {
      await turn();
      const t = performance.now();
      await (await gw.post("/v1/chat/completions", body)).text();
      if (record) durations.push(performance.now() - t);
      if (gw.fake.calls.length > 100) gw.fake.calls.length = 0; // the fake keeps every call; production keeps none
    }
  };
  await run(3000, false); // the compilers' steady tiers first
  const t0 = performance.now();
  await run(N, true);
  const seconds = (performance.now() - t0) / 1000;
  const result: Result = {
    budgetMiB: Number(process.env.BUN_JSC_largeHeapSize ?? 8 * 2 ** 20) / 2 ** 20,
    requestsPerSecond: N / seconds,
    p50: pct(durations, 50),
    p99: pct(durations, 99),
    max: Math.max(...durations),
    over3: durations.filter((d) => d > 3).length,
    over5: durations.filter((d) => d > 5).length,
    worst: [...durations].sort((a, b) => b - a).slice(0, 5),
  };
  console.log(JSON.stringify(result));
}

if (argv.includes("--child")) await child();
else {
  const budgets = (argv.includes("--budgets") ? argv[argv.indexOf("--budgets") + 1] : "8,16,32").split(",").map(Number);
  console.log(`${N} streamed chat requests back to back, in-process (fake runtime), per young-generation budget:`);
  for (const mib of budgets) {
    const out = spawnSync(bunBin, [import.meta.path, String(N), "--child"], {
      env: { ...process.env, BUN_JSC_largeHeapSize: String(mib * 2 ** 20) },
      encoding: "utf8",
    });
    const line = out.stdout.trim().split("\n").pop() ?? "";
    if (out.status !== 0 || !line.startsWith("{")) {
      throw new Error(`child for ${mib} MiB failed (${out.status}):\n${out.stdout}\n${out.stderr}`);
    }
    const r: Result = JSON.parse(line);
    const f = (x: number) => x.toFixed(2);
    console.log(
      `  ${String(r.budgetMiB).padStart(3)} MiB: ${r.requestsPerSecond.toFixed(0)} req/s; request p50 ${
        f(r.p50)
      } ms, p99 ${f(r.p99)} ms, max ${f(r.max)} ms; over 3 ms ${r.over3}, over 5 ms ${r.over5}; worst ${
        r.worst.map(f).join(" ")
      }`,
    );
  }
}
