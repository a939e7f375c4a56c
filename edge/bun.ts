/** Serving the gateway with Bun.serve.
 *
 *   const app = createApp({ binding: () => client.binding });
 *   const server = serveBun(app, { port: 8080 });
 *
 * Bun closes a connection after `idleTimeout` seconds without bytes (10 by default), which would cut a silent
 * prefill, hidden reasoning, or a long non-streaming generation. The gateway's deadline middleware calls
 * `env.liftIdleTimeout()` on model routes, which here is `server.timeout(req, 0)`: from then on the request's
 * deadline bounds it instead. Every other request keeps the idle timeout (`idleTimeoutSeconds`, default 30). */
import { DEFAULT_PORT, listenHostname } from "./serve-options.ts";
import type { Servable, ServeOptions } from "./serve-options.ts";

export interface BunServeOptions extends ServeOptions {
  /** Idle timeout of requests that do not lift it, 1..255 s. Default 30. */
  idleTimeoutSeconds?: number;
}

export function serveBun(app: Servable, opts: BunServeOptions = {}): ReturnType<typeof Bun.serve> {
  const hostname = listenHostname(app.localOnly ?? false, opts.hostname);
  return Bun.serve({
    port: opts.port ?? DEFAULT_PORT,
    hostname,
    idleTimeout: opts.idleTimeoutSeconds ?? 30,
    fetch(req, server) {
      return app.fetch(req, { liftIdleTimeout: () => server.timeout(req, 0) });
    },
  });
}

/** serveBun as a gateway ServeFn (edge/gateway.ts). */
export async function serveOnBun(
  app: Servable,
  port?: number,
  hostname?: string,
): Promise<{ url: string; stop: () => Promise<void> }> {
  const server = serveBun(app, { port, hostname });
  return { url: `http://${server.hostname}:${server.port}`, stop: async () => void server.stop(true) };
}
