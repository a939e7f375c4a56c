// A runtime started with a shared token (--auth-token-file) greets a connection only after its first frame is
// `auth` with that token, compared in constant time; anything else, or nothing within 5 s, is refused and closed.
import { tokensMatch } from "../wire/auth.ts";
import type { ClientMessage } from "../wire/messages.ts";
import type { Connection } from "./connection.ts";

export class AuthGate {
  /** Connections that have not shown the token yet. */
  readonly #waiting = new WeakSet<Connection>();

  constructor(
    private readonly token: string,
    private readonly log: (line: string) => void,
    private readonly greet: (conn: Connection) => void,
  ) {}

  opened(conn: Connection): void {
    this.#waiting.add(conn);
    setTimeout(() => this.#waiting.has(conn) && this.#refuse(conn, "no auth frame within 5 s"), 5_000);
  }

  isWaiting(conn: Connection): boolean {
    return this.#waiting.has(conn);
  }

  /** The connection's first frame: true when it is `auth` with the right token (the connection is greeted). */
  check(conn: Connection, msg: ClientMessage): boolean {
    if (msg?.type === "auth" && tokensMatch(this.token, msg.token)) {
      this.#waiting.delete(conn);
      this.greet(conn);
      return true;
    }
    this.#refuse(conn, msg?.type === "auth" ? "wrong auth token" : "no auth token (its first frame was not auth)");
    return false;
  }

  #refuse(conn: Connection, why: string): void {
    this.#waiting.delete(conn);
    this.log(`runtime: refused a connection from ${conn.socket.remoteAddress || "a local socket"}: ${why}`);
    const message = `this runtime requires the shared token (${why}); start the gateway with --auth-token-file`;
    conn.send({ type: "error", id: null, code: "invalid_request", message });
    conn.socket.end();
  }
}
