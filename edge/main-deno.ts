// The gateway on Deno:
//   deno run -A --v8-flags=--max-semi-space-size=2,--no-incremental-marking-task,--no-compaction-on-regular-gcs \
//     edge/main-deno.ts --runtime SOCKET [--port 8080] ...
// (same flags as `gust serve`; the V8 flags: edge/deno-heap.ts, which names the ones for --gc-threads idle, the mode
// for a gateway whose cores are its own: edge/helper-threads.ts). The runtime always runs on Bun.
import { denoHeapNote } from "./deno-heap.ts";
import { serveOnDeno } from "./deno.ts";
import { startGateway } from "./gateway.ts";
import { parseServeArgs } from "./cli/serve-args.ts";

/** This process's command line, V8 flags included (Linux), or null where /proc is not there. */
function commandLine(): string[] | null {
  try {
    return deno.readTextFileSync("/proc/self/cmdline").split("\0").filter(Boolean);
  } catch {
    return null;
  }
}

const deno = (globalThis as unknown as {
  Deno: { args: string[]; exit(code: number): never; readTextFileSync(path: string): string };
}).Deno;
try {
  const cfg = parseServeArgs(deno.args);
  const gw = await startGateway(cfg, serveOnDeno);
  console.error(
    `gust serve (deno): gateway on ${gw.url} (runtime ${cfg.runtime}: ${
      gw.link.binding ? `connected, model ${gw.link.binding.info.id}` : "not connected yet"
    }; ${denoHeapNote(commandLine(), cfg.gcThreads)}${
      cfg.gcThreads === "idle" ? "; V8's collector helper threads under SCHED_IDLE" : ""
    })`,
  );
} catch (err) {
  console.error(`gust serve (deno): ${(err as Error).message}`);
  deno.exit((err as Error).name === "UsageError" ? 2 : 1);
}
