// Requests whose answer grammars (a response format's schema, tool names and parameter schemas) are not compiled
// yet wait here while the grammar worker builds them, off the engine's thread: a schema that takes its whole budget
// (1 s) to build or refuse no longer stalls every running stream. Once built (or refused: the refusal is
// remembered), the request goes on to admission, where wrap() finds every grammar cached. An abort that comes
// while a request waits is applied once it is admitted, so the gateway still gets the finish it waits for.
import type { JsonConstraints } from "../sampling/constraints.ts";
import type { GenerateMessage } from "../wire/messages.ts";
import type { Connection } from "./connection.ts";

interface Waiting {
  aborted: boolean;
}

export class GrammarStage {
  readonly #waiting = new Map<Connection, Map<string, Waiting>>();

  constructor(private readonly constraints: JsonConstraints) {}

  /** True when `msg` must wait for its grammars (it is then held, and `admit` called once they are built). */
  hold(
    conn: Connection,
    msg: GenerateMessage,
    admit: (aborted: boolean) => void,
    fail: (message: string) => void,
  ): boolean {
    const calls = msg.toolCalls;
    if (this.constraints.isCompiled(msg.responseFormat, calls)) return false;
    const waiting: Waiting = { aborted: false };
    let ids = this.#waiting.get(conn);
    if (!ids) this.#waiting.set(conn, ids = new Map());
    ids.set(msg.id, waiting);
    this.constraints.compile(msg.responseFormat, calls).then(
      () => this.#release(conn, msg.id) && admit(waiting.aborted),
      (e) =>
        this.#release(conn, msg.id) && fail(`Internal error building the answer's grammar: ${(e as Error).message}`),
    );
    return true;
  }

  has(conn: Connection, id: string): boolean {
    return this.#waiting.get(conn)?.has(id) ?? false;
  }

  /** Marks a waiting request aborted; false when it is not waiting here. */
  abort(conn: Connection, id: string): boolean {
    const waiting = this.#waiting.get(conn)?.get(id);
    if (waiting) waiting.aborted = true;
    return waiting !== undefined;
  }

  /** Requests waiting, all connections together. */
  get size(): number {
    let n = 0;
    for (const ids of this.#waiting.values()) n += ids.size;
    return n;
  }

  /** Stops waiting for `id`; false when its connection closed meanwhile (nobody to answer). */
  #release(conn: Connection, id: string): boolean {
    const ids = this.#waiting.get(conn);
    ids?.delete(id);
    if (ids?.size === 0) this.#waiting.delete(conn);
    return !conn.closed;
  }
}
