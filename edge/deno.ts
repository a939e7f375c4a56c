/** Serving the gateway with Deno.serve.
 *
 *   const app = createApp({ binding: () => client.binding });
 *   serveDeno(app, { port: 8080 });
 *
 * Deno has no idle timeout to lift. Its `request.signal` also fires when a response completes (legacy abort
 * semantics, unless run with --unstable-no-legacy-abort); the gateway only listens to it while a generation is
 * running, so a completed response aborts nothing. Needs --allow-net (and --allow-env for GUST_API_KEYS). */
import { DEFAULT_PORT, listenHostname } from "./serve-options.ts";
import type { Servable, ServeOptions } from "./serve-options.ts";

export interface DenoServeOptions extends ServeOptions {
  /** Stops the server when aborted. */
  signal?: AbortSignal;
  onListen?: (addr: { hostname: string; port: number }) => void;
}

/** The part of Deno's API used here (typed locally so the file also type-checks under Bun's tsc). */
interface DenoServe {
  serve(
    options: {
      port: number;
      hostname: string;
      signal?: AbortSignal;
      onListen?: (addr: { hostname: string; port: number }) => void;
    },
    handler: (req: Request) => Response | Promise<Response>,
  ): { finished: Promise<void>; shutdown(): Promise<void> };
}

export function serveDeno(
  app: Servable,
  opts: DenoServeOptions = {},
): { finished: Promise<void>; shutdown(): Promise<void> } {
  const deno = (globalThis as { Deno?: DenoServe }).Deno;
  if (!deno) throw new Error("serveDeno needs the Deno runtime; on Bun use serveBun from edge/bun.ts");
  const hostname = listenHostname(app.localOnly ?? false, opts.hostname);
  return deno.serve(
    { port: opts.port ?? DEFAULT_PORT, hostname, signal: opts.signal, onListen: opts.onListen },
    (req) => app.fetch(req, {}),
  );
}

/** serveDeno as a gateway ServeFn (edge/gateway.ts). */
export async function serveOnDeno(
  app: Servable,
  port?: number,
  hostname?: string,
): Promise<{ url: string; stop: () => Promise<void> }> {
  const ac = new AbortController();
  const addr = await new Promise<{ hostname: string; port: number }>((resolve) => {
    serveDeno(app, { port, hostname, signal: ac.signal, onListen: resolve });
  });
  return { url: `http://${addr.hostname}:${addr.port}`, stop: async () => ac.abort() };
}
