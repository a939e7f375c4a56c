// The gateway on Deno:
//   deno run -A --v8-flags=--max-semi-space-size=2 edge/main-deno.ts --runtime SOCKET [--port 8080] ...
// (same flags as `gust serve`; the V8 flag: edge/deno-heap.ts). The runtime always runs on Bun.
import { serveOnDeno } from "./deno.ts";
import { startGateway } from "./gateway.ts";
import { parseServeArgs } from "./cli/serve-args.ts";

const deno = (globalThis as unknown as { Deno: { args: string[]; exit(code: number): never } }).Deno;
try {
  const cfg = parseServeArgs(deno.args);
  const gw = await startGateway(cfg, serveOnDeno);
  console.error(
    `gust serve (deno): gateway on ${gw.url} (runtime ${cfg.runtime.join(", ")}: ${
      gw.link.binding ? `connected, model ${gw.link.binding.info.id}` : "not connected yet"
    })`,
  );
} catch (err) {
  console.error(`gust serve (deno): ${(err as Error).message}`);
  deno.exit((err as Error).name === "UsageError" ? 2 : 1);
}
