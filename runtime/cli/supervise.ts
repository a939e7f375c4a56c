// `gust dev`'s supervision: a child (the runtime, or the Deno gateway) that exits while dev is running is started
// again after a backoff (0.5 s, doubling to 10 s; back to 0.5 s once a start has lasted 30 s), and every child is
// killed when dev exits, however it exits, so none is left orphaned.
import type { ChildProcess } from "node:child_process";

const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 10_000;
const STABLE_MS = 30_000;

const everyChild = new Set<Supervised>();
let exitHookInstalled = false;

/** Starts the child; resolves once it is ready, rejects if it exits first. */
export type StartChild = () => Promise<ChildProcess>;

export class Supervised {
  #child: ChildProcess | null = null;
  #stopping = false;
  #delay = FIRST_DELAY_MS;

  constructor(
    readonly label: string,
    private readonly start: StartChild,
    private readonly log: (line: string) => void,
  ) {
    everyChild.add(this);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      // synchronous, so it also runs on process.exit() and after an uncaught exception
      process.on("exit", () => {
        for (const s of everyChild) s.stop("SIGKILL");
      });
    }
  }

  /** Starts the child; resolves once it is ready (rejects if its first start fails). */
  async run(): Promise<void> {
    const child = await this.start();
    if (this.#stopping) child.kill(); // stopped while it started (a sibling replica failed its first start)
    else this.#watch(child);
  }

  #watch(child: ChildProcess): void {
    this.#child = child;
    const startedAt = Date.now();
    child.once("exit", (code, signal) => {
      if (this.#stopping || this.#child !== child) return;
      this.#child = null;
      if (Date.now() - startedAt > STABLE_MS) this.#delay = FIRST_DELAY_MS;
      this.log(`gust dev: the ${this.label} exited (${signal ?? `status ${code}`}); restarting in ${this.#delay} ms`);
      this.#later();
    });
  }

  #later(): void {
    const delay = this.#delay;
    this.#delay = Math.min(this.#delay * 2, MAX_DELAY_MS);
    setTimeout(async () => {
      if (this.#stopping) return;
      try {
        const child = await this.start();
        if (this.#stopping) return void child.kill(); // dev stopped while it restarted
        this.#watch(child);
        this.log(`gust dev: the ${this.label} is back`);
      } catch (err) {
        this.log(`gust dev: the ${this.label} did not start: ${(err as Error).message}; retrying in ${this.#delay} ms`);
        this.#later();
      }
    }, delay);
  }

  stop(signal: NodeJS.Signals = "SIGTERM"): void {
    this.#stopping = true;
    everyChild.delete(this);
    if (this.#child?.exitCode === null) this.#child.kill(signal);
  }
}
