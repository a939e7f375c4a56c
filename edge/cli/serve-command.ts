// `gust serve --runtime SOCKET`: the gateway process on Bun. Deno users run edge/main-deno.ts with the
// same flags (edge/cli/serve-args.ts).
import { serveOnBun } from "../bun.ts";
import { gcSettingsNote } from "../bun-heap.ts";
import { startGateway } from "../gateway.ts";
import { parseServeArgs } from "./serve-args.ts";
import { UsageError } from "../../runtime/text/errors.ts";

export async function serveCommand(argv: string[]): Promise<string> {
  const cfg = parseServeArgs(argv);
  if (cfg.gcThreads === "idle") {
    throw new UsageError(
      "--gc-threads idle is for the Deno gateway (V8's collector helper threads); Bun's compiler threads are lowered already and its collector needs no setting",
    );
  }
  const gw = await startGateway(cfg, serveOnBun);
  process.stderr.write(
    `gust serve: gateway on ${gw.url} (runtime ${cfg.runtime}: ${
      gw.link.binding ? `connected, model ${gw.link.binding.info.id}` : `not connected yet, ${gw.link.lastError}`
    }; ${gcSettingsNote(process.env)})\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => gw.stop().then(resolve, resolve);
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
  return "";
}
