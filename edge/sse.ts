/** Server-sent events with keep-alive: `data: <json>\n\n` events, and a `: keep-alive\n\n` comment whenever nothing
 * was written for `keepAliveMs` (prefill and hidden reasoning can be silent for a long time, and proxies drop
 * silent streams). The stream applies backpressure: `ready()` waits while the client is not reading. */
import type { Clock, TimerHandle } from "./clock.ts";

const encoder = new TextEncoder();

export interface SseOptions {
  clock: Clock;
  keepAliveMs: number;
  /** The client went away (the body was cancelled). */
  onCancel?: (reason: unknown) => void;
}

export class SseStream {
  readonly readable: ReadableStream<Uint8Array>;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private closed = false;
  private lastWrite: number;
  private timer: TimerHandle | null = null;
  private wakeReader: (() => void) | null = null;

  constructor(private readonly opts: SseOptions) {
    this.lastWrite = opts.clock.now();
    this.readable = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller;
        },
        pull: () => {
          this.wakeReader?.();
          this.wakeReader = null;
        },
        cancel: (reason) => {
          this.stop();
          opts.onCancel?.(reason);
        },
      },
      { highWaterMark: 8 },
    );
    this.arm(opts.keepAliveMs);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** One `data:` event; `data` is sent as is when a string (e.g. "[DONE]"), else as JSON. */
  event(data: unknown): void {
    this.write(`data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`);
  }

  comment(text: string): void {
    this.write(`: ${text}\n\n`);
  }

  /** Resolves when the client has room for more (immediately unless it stopped reading). */
  ready(): Promise<void> {
    if (this.closed || (this.controller.desiredSize ?? 1) > 0) return Promise.resolve();
    return new Promise((resolve) => (this.wakeReader = resolve));
  }

  close(): void {
    if (this.closed) return;
    this.stop();
    try {
      this.controller.close();
    } catch {
      // already cancelled by the client
    }
  }

  private write(text: string): void {
    if (this.closed) return;
    this.lastWrite = this.opts.clock.now();
    try {
      this.controller.enqueue(encoder.encode(text));
    } catch {
      this.stop();
    }
  }

  private stop(): void {
    this.closed = true;
    if (this.timer !== null) this.opts.clock.clearTimeout(this.timer);
    this.timer = null;
    this.wakeReader?.();
    this.wakeReader = null;
  }

  /** One timer re-armed for the time left since the last write, instead of a new timer per event. */
  private arm(ms: number): void {
    this.timer = this.opts.clock.setTimeout(() => {
      if (this.closed) return;
      const idle = this.opts.clock.now() - this.lastWrite;
      if (idle >= this.opts.keepAliveMs) {
        this.comment("keep-alive");
        this.arm(this.opts.keepAliveMs);
      } else this.arm(this.opts.keepAliveMs - idle);
    }, ms);
  }
}

export const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
  // nginx buffers responses unless told otherwise; a buffered stream is not a stream
  "x-accel-buffering": "no",
};
