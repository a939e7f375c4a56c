// The limits of one function isolate, checked every 50 ms while it has requests in hand (from the request sent until
// the isolate says it is done with it, which may be after the gateway answered):
//  - memory: the process's resident size (ArrayBuffers count, not just V8's heap);
//  - CPU: an event loop that leaves a ping unanswered while the process burns `stallMs` of its own CPU time (a
//    machine too busy to run it is not the function's fault: where /proc cannot tell, 10 × stallMs of wall time);
//  - wall time: a request still in the isolate `wallMs` after it was sent (a handler awaiting a promise that never
//    settles, a loop that yields to the event loop and so answers pings, a body that never ends);
//  - a request the gateway gave up on (its timeoutMs passed, or the client left) that the isolate has not finished
//    `abortGraceMs` later: its handler ignores the abort and would hold the isolate for good.
// Each is a LimitHit: the isolate is killed, its waiting requests get the hit's error, and it is started again for
// the next request.
import { cpuMs, residentBytes } from "./proc-stats.ts";

export interface WatchdogLimits {
  memoryMiB: number;
  stallMs: number;
  wallMs: number;
  abortGraceMs: number;
}

/** Why an isolate is killed: the message every waiting request gets; `status` for `requestId`, 503 for the rest. */
export interface LimitHit {
  message: string;
  status: 503 | 504;
  requestId?: number;
}

export interface Watched {
  /** The isolate's process id, or null while none runs. */
  readonly pid: number | null;
  ping(n: number): void;
  kill(hit: LimitHit): void;
}

export class Watchdog {
  readonly #sentAt = new Map<number, number>();
  readonly #abortedAt = new Map<number, number>();
  #timer: ReturnType<typeof setInterval> | null = null;
  #pingSent = 0;
  /** The isolate's CPU time (ms) when the outstanding ping was sent, or null where /proc cannot tell. */
  #pingCpuMs: number | null = null;

  constructor(readonly name: string, readonly limits: WatchdogLimits, private readonly target: Watched) {}

  /** A request was sent to the isolate. */
  begin(id: number): void {
    this.#sentAt.set(id, Date.now());
    this.#timer ??= setInterval(() => this.#tick(), 50);
  }

  /** The gateway gave up on a request; the isolate has `abortGraceMs` to finish it. */
  aborted(id: number): void {
    if (this.#sentAt.has(id) && !this.#abortedAt.has(id)) this.#abortedAt.set(id, Date.now());
  }

  /** The isolate is done with a request. */
  end(id: number): void {
    this.#sentAt.delete(id);
    this.#abortedAt.delete(id);
    if (this.#sentAt.size === 0) this.#stopTimer();
  }

  pong(): void {
    this.#pingSent = 0;
  }

  /** The isolate is gone: nothing of it is watched any more. */
  reset(): void {
    this.#sentAt.clear();
    this.#abortedAt.clear();
    this.#stopTimer();
  }

  #stopTimer(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#pingSent = 0;
  }

  #tick(): void {
    const hit = this.#check(Date.now());
    if (hit) {
      this.reset();
      this.target.kill(hit);
    }
  }

  #check(now: number): LimitHit | null {
    const fn = `function ${JSON.stringify(this.name)}`;
    const replaced = "its isolate was killed and is started again for the next request";
    const pid = this.target.pid;
    const rss = pid === null ? null : residentBytes(pid);
    if (rss !== null && rss > this.limits.memoryMiB * 2 ** 20) {
      return { message: outOfMemory(this.name, this.limits), status: 503 };
    }
    for (const [id, at] of this.#sentAt) {
      if (now - at > this.limits.wallMs) {
        return {
          message: `${fn} ran past its wall-time limit of ${this.limits.wallMs} ms ` +
            `(gust serve --function-wall-ms); ${replaced}`,
          status: 504,
          requestId: id,
        };
      }
    }
    for (const at of this.#abortedAt.values()) {
      if (now - at > this.limits.abortGraceMs) {
        return {
          message: `${fn} went on ${this.limits.abortGraceMs} ms after its request was given up (its timeoutMs ` +
            `passed or the client left) without finishing it; ${replaced}`,
          status: 503,
        };
      }
    }
    if (this.#pingSent !== 0 && now - this.#pingSent > this.limits.stallMs) {
      const cpu = pid !== null && this.#pingCpuMs !== null ? cpuMs(pid) : null;
      if (
        cpu === null || cpu - this.#pingCpuMs! > this.limits.stallMs || now - this.#pingSent > 10 * this.limits.stallMs
      ) {
        return {
          message: `${fn} stopped answering: its event loop was busy for over ${this.limits.stallMs} ms ` +
            `(the CPU limit of one turn); ${replaced}`,
          status: 503,
        };
      }
    }
    if (this.#pingSent === 0) {
      this.#pingSent = now;
      this.#pingCpuMs = pid === null ? null : cpuMs(pid);
      this.target.ping(now);
    }
    return null;
  }
}

export const outOfMemory = (name: string, limits: Pick<WatchdogLimits, "memoryMiB">) =>
  `function ${JSON.stringify(name)} ran out of memory (its isolate's limit is ${limits.memoryMiB} MiB); ` +
  `the isolate was replaced`;
