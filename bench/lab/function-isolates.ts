// What isolating a function costs: added latency per call (a function in its own Deno isolate, edge/isolate/,
// against the same bundle imported into this process, both called through the registry's definition, no HTTP) and
// the memory of one idle isolate (its process's RSS after loading, and after serving). Median and spread printed,
// never asserted.   npx bun bench/lab/function-isolates.ts [calls]
import { mkdtempSync, readFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { bundleFunction } from "../../edge/functions/bundle.ts";
import { FunctionRegistry, importLoader } from "../../edge/functions/registry.ts";
import { isolateLoader } from "../../edge/isolate/loader.ts";
import { unavailableModel } from "../../functions/sdk/function-model.ts";
import type { FunctionBindings } from "../../functions/sdk/types.ts";

const calls = Number(process.argv[2] ?? 400);
const src = mkdtempSync(join(tmpdir(), "gust-iso-bench-"));
const file = join(src, "echo.ts");
await Bun.write(
  file,
  `import { Hono } from "hono"; import { defineFunction } from "gust/sdk";
   const app = new Hono(); app.post("/", async (c) => c.json({ n: (await c.req.text()).length }));
   export default defineFunction({ app });`,
);
const bundle = await bundleFunction(file);
const env: FunctionBindings = {
  model: unavailableModel("no runtime in this bench"),
  reasoning: { effort: "none", budgetTokens: null },
  requestId: "bench",
};
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * p)];
const rssMiB = (pid: number) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;

async function timeCalls(fetch: (req: Request) => Promise<Response>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < calls + 20; i++) {
    const t = performance.now();
    const res = await fetch(new Request("http://fn/", { method: "POST", body: "x".repeat(100) }));
    await res.text();
    if (i >= 20) times.push(performance.now() - t); // the first 20 warm up
  }
  return times;
}

const results: Record<string, number[]> = {};
for (
  const [label, loader] of [
    ["in process", importLoader],
    ["isolate", isolateLoader({ cacheDir: join(src, ".deno-cache") })],
  ] as const
) {
  const registry = new FunctionRegistry(mkdtempSync(join(tmpdir(), "gust-iso-state-")), () => {}, { loader });
  const f = await registry.deploy("echo", bundle);
  results[label] = await timeCalls((req) => f.definition.app.fetch(req, env) as Promise<Response>);
  registry.close();
}

console.log(
  `function call latency, ${calls} sequential calls after 20 warm-up, ${cpus().length} CPUs (${cpus()[0]?.model})`,
);
for (const [label, t] of Object.entries(results)) {
  console.log(
    `  ${label.padEnd(10)} median ${pct(t, 0.5).toFixed(3)} ms  p10 ${pct(t, 0.1).toFixed(3)}  p90 ${
      pct(t, 0.9).toFixed(3)
    }  p99 ${pct(t, 0.99).toFixed(3)}`,
  );
}
console.log(
  `  added by the isolate: ${(pct(results.isolate, 0.5) - pct(results["in process"], 0.5)).toFixed(3)} ms (median)`,
);

// memory of idle isolates: several, each one function, RSS per process
const idle: number[] = [];
const loader = isolateLoader({ cacheDir: join(src, ".deno-cache") });
const registry = new FunctionRegistry(mkdtempSync(join(tmpdir(), "gust-iso-idle-")), () => {}, { loader });
const pids: number[] = [];
for (let i = 0; i < 5; i++) {
  const f = await registry.deploy(`echo${i}`, bundle);
  await (await (f.definition.app.fetch(new Request("http://fn/", { method: "POST", body: "x" }), env) as Promise<
    Response
  >))
    .text();
  pids.push(...(await pidsOf(`echo${i}`)));
}
await new Promise((r) => setTimeout(r, 500));
for (const pid of pids) idle.push(rssMiB(pid));
console.log(
  `idle isolate RSS (${idle.length} isolates, one call each): median ${pct(idle, 0.5).toFixed(1)} MiB, min ${
    Math.min(...idle).toFixed(1)
  }, max ${Math.max(...idle).toFixed(1)}`,
);
registry.close();

/** The isolate processes serving `name` (found by their bundle path on the command line). */
async function pidsOf(name: string): Promise<number[]> {
  const out = await new Response(Bun.spawn(["pgrep", "-f", `/${name}/v1.mjs`]).stdout).text();
  return out.split("\n").filter(Boolean).map(Number);
}
