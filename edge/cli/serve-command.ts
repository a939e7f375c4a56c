// `gust serve --runtime SOCKET`: the gateway process on Bun. Deno users run edge/main-deno.ts with the
// same flags (edge/cli/serve-args.ts).
import { serveOnBun } from "../bun.ts";
import { startGateway } from "../gateway.ts";
import { parseServeArgs } from "./serve-args.ts";

export async function serveCommand(argv: string[]): Promise<string> {
  const cfg = parseServeArgs(argv);
  const gw = await startGateway(cfg, serveOnBun);
  process.stderr.write(
    `gust serve: gateway on ${gw.url} (runtime ${cfg.runtime.join(", ")}: ${
      gw.link.binding ? `connected, model ${gw.link.binding.info.id}` : `not connected yet, ${gw.link.lastError}`
    })\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => gw.stop().then(resolve, resolve);
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
  return "";
}
