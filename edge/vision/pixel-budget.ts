// Decoding admitted by pixels across every request of the gateway: a decode and resize holds several bytes per
// source pixel at once (the decoded RGB, float32 planes for the bicubic pass), so a few requests of large images
// decoded together took the gateway from 52 MB to 1.5 GB. Each render first takes its source's pixel count from one
// shared budget and gives it back when done; renders that do not fit wait in order. An image larger than the whole
// budget runs alone (only when nothing else holds any), so it is slow rather than refused.
//
// Worked example, budget 64 MP: two 30 MP renders run together (60 MP held); a third 30 MP waits until one ends; a
// 100 MP image waits until the held count is 0, then holds 100 MP alone.

/** Source pixels decoded at once across the gateway by default: 64 MP, about 1 GiB at the render's peak. */
export const DEFAULT_PIXEL_BUDGET = 64_000_000;

export class PixelBudget {
  #held = 0;
  #peak = 0;
  readonly #queue: { pixels: number; grant: () => void }[] = [];

  constructor(readonly capacity: number = DEFAULT_PIXEL_BUDGET) {}

  /** Pixels held now, and the most ever held at once (for tests and metrics). */
  get held(): number {
    return this.#held;
  }
  get peak(): number {
    return this.#peak;
  }

  #fits(pixels: number): boolean {
    return this.#held === 0 || this.#held + pixels <= this.capacity;
  }

  /** Resolves with a release function once `pixels` fit. */
  acquire(pixels: number): Promise<() => void> {
    return new Promise((resolve) => {
      const grant = () => {
        this.#held += pixels;
        this.#peak = Math.max(this.#peak, this.#held);
        let released = false;
        resolve(() => {
          if (released) return;
          released = true;
          this.#held -= pixels;
          this.#drain();
        });
      };
      if (this.#queue.length === 0 && this.#fits(pixels)) grant();
      else this.#queue.push({ pixels, grant });
    });
  }

  #drain(): void {
    while (this.#queue.length > 0 && this.#fits(this.#queue[0].pixels)) this.#queue.shift()!.grant();
  }
}

/** The one budget every vision() of this process shares. */
export const sharedPixelBudget = new PixelBudget();

/** Runs `work` once `pixels` fit in the shared budget, giving them back when it settles. */
export async function withPixels<T>(pixels: number, work: () => Promise<T>, budget = sharedPixelBudget): Promise<T> {
  const release = await budget.acquire(pixels);
  try {
    return await work();
  } finally {
    release();
  }
}
