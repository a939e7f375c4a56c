// One gateway connection: frame decoding, the requests it owns, and a bounded outgoing buffer so a
// slow reader never makes the engine wait (past the bound it is marked stalled; stalled too long,
// its requests are aborted and it is closed).
import type { Socket } from "bun";
import { encodeFrame, FrameDecoder } from "../wire/frames.ts";
import type { ServerMessage } from "../wire/messages.ts";

export interface ConnectionLimits {
  /** Outgoing bytes the socket may hold back before the connection counts as stalled. */
  maxPendingBytes: number;
  /** How long a stalled connection may stay stalled before its requests are aborted. */
  stallTimeoutMs: number;
}

export class Connection {
  readonly decoder = new FrameDecoder();
  /** Wire request id → number of samples still running. */
  readonly requests = new Map<string, number>();
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  stalledSince: number | null = null;
  closed = false;

  constructor(
    readonly id: number,
    readonly socket: Socket<unknown>,
    readonly limits: ConnectionLimits,
  ) {}

  /** The engine's id of this connection's request: connection 17's "chat-3" is "17/chat-3" (ids repeat across
   * connections, never within one). */
  engineId(wireId: string): string {
    return `${this.id}/${wireId}`;
  }

  send(message: ServerMessage, binary?: Uint8Array): void {
    if (this.closed) return;
    const frame = encodeFrame(message, binary);
    if (this.#pending.length > 0) this.#queue(frame);
    else {
      const written = this.socket.write(frame);
      if (written < frame.byteLength) this.#queue(frame.subarray(Math.max(0, written)));
    }
  }

  #queue(bytes: Uint8Array): void {
    this.#pending.push(bytes);
    this.#pendingBytes += bytes.byteLength;
    if (this.#pendingBytes > this.limits.maxPendingBytes && this.stalledSince === null) this.stalledSince = Date.now();
  }

  /** The socket can take more: flush what was held back. */
  onDrain(): void {
    while (this.#pending.length > 0) {
      const head = this.#pending[0];
      const written = this.socket.write(head);
      if (written < head.byteLength) {
        this.#pending[0] = head.subarray(Math.max(0, written));
        this.#pendingBytes -= Math.max(0, written);
        return;
      }
      this.#pending.shift();
      this.#pendingBytes -= head.byteLength;
    }
    this.stalledSince = null;
  }

  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  isStalledTooLong(now: number): boolean {
    return this.stalledSince !== null && now - this.stalledSince > this.limits.stallTimeoutMs;
  }
}

/** The request's own id from the engine's: "17/chat-3" → "chat-3" (Connection.engineId's inverse). */
export const wireIdOf = (engineId: string) => engineId.slice(engineId.indexOf("/") + 1);
