/** Server-sent events with keep-alive: `data: <json>\n\n` events, and a `: keep-alive\n\n` comment whenever nothing
 * was written for `keepAliveMs` (prefill and hidden reasoning can be silent for a long time, and proxies drop
 * silent streams). A dialect whose clients time out on silent *events* rather than silent bytes (Codex's SSE idle
 * timer skips comments) gives `keepAlive`, a real event of its own protocol sent instead of the comment. The stream
 * applies backpressure: `ready()` waits while the client is not reading. */
import type { Clock, TimerHandle } from "./clock.ts";
import { reportsBodyEnd } from "./lifecycle.ts";

const encoder = new TextEncoder();

export interface SseOptions {
  clock: Clock;
  keepAliveMs: number;
  /** The client went away (the body was cancelled). */
  onCancel?: (reason: unknown) => void;
  /** The event sent in a silence instead of a comment (the Responses API's `keepalive`, Messages' `ping`). */
  keepAlive?: () => { data: unknown; name?: string };
}

/** Events written and not yet taken by the reader beyond which `ready()` makes the writer wait. */
const MAX_PENDING_EVENTS = 8;

/** The stream is pull-driven: events wait in `pending` until the reader asks, and go out together as one chunk
 * (one encode and one socket write for a burst of events). When the reader asks and nothing is pending, the next
 * event goes straight to it. Because every chunk leaves on a pull, the stream knows when the reader has taken the
 * last one, and says so through `reportsBodyEnd` (lifecycle.ts) without a wrapping stream. */
export class SseStream {
  readonly readable: ReadableStream<Uint8Array>;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private pending: string[] = [];
  /** The reader asked for a chunk and got none yet: the next write goes to it directly. */
  private readerWaiting = false;
  private closed = false;
  private ended = false;
  private endListeners: Array<() => void> = [];
  private lastWrite: number;
  private timer: TimerHandle | null = null;
  private wakeWriter: (() => void) | null = null;

  constructor(private readonly opts: SseOptions) {
    this.lastWrite = opts.clock.now();
    this.readable = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller;
        },
        pull: () => this.pull(),
        cancel: (reason) => {
          this.stop();
          this.end();
          opts.onCancel?.(reason);
        },
      },
      { highWaterMark: 0 },
    );
    reportsBodyEnd(this.readable, (fn) => {
      if (this.ended) fn();
      else this.endListeners.push(fn);
    });
    this.arm(opts.keepAliveMs);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** One `data:` event, with an `event: <name>` line when named (the Responses and Messages streams name every
   * event); `data` is sent as is when a string (e.g. "[DONE]"), else as JSON. */
  event(data: unknown, name?: string): void {
    const head = name ? `event: ${name}\n` : "";
    this.write(`${head}data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`);
  }

  comment(text: string): void {
    this.write(`: ${text}\n\n`);
  }

  /** Resolves when the client has room for more (immediately unless it stopped reading). */
  ready(): Promise<void> {
    if (this.closed || this.pending.length < MAX_PENDING_EVENTS) return Promise.resolve();
    return new Promise((resolve) => (this.wakeWriter = resolve));
  }

  /** No more events; the body ends once the reader has taken what is pending. */
  close(): void {
    if (this.closed) return;
    this.stop();
    if (this.readerWaiting) this.finish();
  }

  private write(text: string): void {
    if (this.closed) return;
    this.lastWrite = this.opts.clock.now();
    if (this.readerWaiting) {
      this.readerWaiting = false;
      this.enqueue(text);
    } else this.pending.push(text);
  }

  private pull(): void {
    if (this.pending.length > 0) {
      const text = this.pending.length === 1 ? this.pending[0] : this.pending.join("");
      this.pending = [];
      this.enqueue(text);
      this.wakeWriter?.();
      this.wakeWriter = null;
    } else if (this.closed) this.finish();
    else this.readerWaiting = true;
  }

  private enqueue(text: string): void {
    try {
      this.controller.enqueue(encoder.encode(text));
    } catch {
      this.stop(); // cancelled meanwhile
    }
  }

  /** Everything was taken and nothing more will come: end the body. */
  private finish(): void {
    this.readerWaiting = false;
    try {
      this.controller.close();
    } catch {
      // already cancelled by the client
    }
    this.end();
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const fn of this.endListeners.splice(0)) fn();
  }

  private stop(): void {
    this.closed = true;
    if (this.timer !== null) this.opts.clock.clearTimeout(this.timer);
    this.timer = null;
    this.wakeWriter?.();
    this.wakeWriter = null;
  }

  /** One timer re-armed for the time left since the last write, instead of a new timer per event. */
  private arm(ms: number): void {
    this.timer = this.opts.clock.setTimeout(() => {
      if (this.closed) return;
      const idle = this.opts.clock.now() - this.lastWrite;
      if (idle >= this.opts.keepAliveMs) {
        const beat = this.opts.keepAlive?.();
        if (beat) this.event(beat.data, beat.name);
        else this.comment("keep-alive");
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
